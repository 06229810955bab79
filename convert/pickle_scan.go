package convert

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// maxPickleBytes bounds data.pkl; a real shard's is tens of kilobytes.
const maxPickleBytes = 64 << 20

// Limits on the unpickler's work. Every opcode makes at most one object (a dict, a tuple, an int) or one
// memo entry, and torch.save writes about 30 opcodes per tensor, so an opcode budget proportional to the
// archive's storages bounds both the time and the memory of unpickling by what the checkpoint really
// holds. Without it an 8 KB deflated data.pkl of 8 M EMPTY_DICTs costs gigabytes.
const (
	pickleOpsBase       = 4096 // for the state dict, its metadata and a few non-tensor entries
	pickleOpsPerStorage = 256  // generous: torch writes ~30 per tensor, plus _metadata entries per module
	// maxPickleDigits bounds the decimal text of INT, LONG and FLOAT opcodes (and LONG4's bytes):
	// big.Int parses decimal text in quadratic time, and a tensor's sizes never need more than 20 digits.
	maxPickleDigits = 64
)

// pickleOpBudget is how many opcodes the data.pkl of an archive with n storages may hold.
func pickleOpBudget(storages int) int { return pickleOpsBase + pickleOpsPerStorage*storages }

// allowedGlobals are the only globals a torch.save pickle may name. Everything else (os.system,
// builtins.eval, ...) is refused before the unpickler runs.
var allowedGlobals = map[string]bool{
	"collections.OrderedDict":         true,
	"torch._utils._rebuild_tensor_v2": true,
	"torch._utils._rebuild_parameter": true,
	"torch.HalfStorage":               true,
	"torch.BFloat16Storage":           true,
	"torch.FloatStorage":              true,
	"torch.CharStorage":               true,
}

// orderedDictOps builds an empty collections.OrderedDict: GLOBAL, EMPTY_TUPLE, REDUCE.
var orderedDictOps = []byte("ccollections\nOrderedDict\n)R")

// sanitizePickle walks every opcode of a pickle before gopickle sees it. It checks each length field
// against the bytes that remain (gopickle allocates whatever a length claims), refuses unknown opcodes and
// every global outside allowedGlobals, and rewrites the stream so that the unpickler's work stays linear:
// FRAME hints are dropped, and EMPTY_DICT becomes an OrderedDict (gopickle's plain dict has O(n) inserts).
// Opcodes that instantiate arbitrary classes (INST, OBJ, NEWOBJ, EXT*) are refused: torch never writes them.
// At most maxOps opcodes are accepted (see pickleOpBudget), and numbers written as text are short.
func sanitizePickle(p []byte, maxOps int) ([]byte, error) {
	out := make([]byte, 0, min(len(p), 16*maxOps)+len(p)/8)
	pos := 0
	fail := func(format string, args ...any) ([]byte, error) {
		return nil, fmt.Errorf("data.pkl: byte %d: %s", pos, fmt.Sprintf(format, args...))
	}
	for ops := 0; pos < len(p); ops++ {
		if ops >= maxOps {
			return fail("more than %d opcodes: far more than a checkpoint with this many storages needs (a pickle bomb?)", maxOps)
		}
		op := p[pos]
		start := pos
		pos++
		rest := len(p) - pos
		arg := func(n int) bool { return n <= rest }
		lenArg := func(size int) (int, bool) {
			if !arg(size) {
				return 0, false
			}
			var n uint64
			switch size {
			case 1:
				n = uint64(p[pos])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(p[pos:]))
			case 8:
				n = binary.LittleEndian.Uint64(p[pos:])
			}
			if n > uint64(rest-size) {
				return 0, false
			}
			return size + int(n), true
		}
		line := func() (int, bool) {
			i := bytes.IndexByte(p[pos:], '\n')
			return i + 1, i >= 0
		}
		n, ok := 0, true
		switch op {
		case '(', '.', '0', '1', '2', 'N', 'R', 'Q', ']', 'a', 'b', 'e', 'l', ')', 's', 't', 'u',
			0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x94:
		case '}':
			ops += 2 // the OrderedDict costs three opcodes
			out = append(out, orderedDictOps...)
			continue
		case 'K', 'h', 'q', 0x80:
			n, ok = 1, arg(1)
		case 'M':
			n, ok = 2, arg(2)
		case 'J', 'j', 'r':
			n, ok = 4, arg(4)
		case 'G':
			n, ok = 8, arg(8)
		case 0x95: // FRAME: dropped
			if !arg(8) {
				return fail("truncated FRAME")
			}
			pos += 8
			continue
		case 'U', 'C', 0x8c, 0x8a:
			n, ok = lenArg(1)
		case 'T', 'X', 'B', 0x8b:
			n, ok = lenArg(4)
			if ok && op != 'X' && op != 'B' && int32(binary.LittleEndian.Uint32(p[pos:])) < 0 {
				return fail("negative length")
			}
			if ok && op == 0x8b && n-4 > maxPickleDigits {
				return fail("LONG4 of %d bytes: a checkpoint's integers need at most %d", n-4, maxPickleDigits)
			}
		case 0x8d, 0x8e, 0x96:
			n, ok = lenArg(8)
		case 'I', 'L', 'F', 'g', 'p':
			n, ok = line()
			if ok && n-1 > maxPickleDigits {
				return fail("number of %d characters: a checkpoint's numbers need at most %d", n-1, maxPickleDigits)
			}
		case 'S', 'V', 'P':
			n, ok = line()
		case 'c':
			l1, ok1 := line()
			if !ok1 {
				return fail("truncated GLOBAL")
			}
			i := bytes.IndexByte(p[pos+l1:], '\n')
			if i < 0 {
				return fail("truncated GLOBAL")
			}
			name := string(p[pos:pos+l1-1]) + "." + string(p[pos+l1:pos+l1+i])
			if !allowedGlobals[name] {
				return fail("forbidden global %s: only torch tensor rebuild functions and storages may appear in a checkpoint", name)
			}
			n = l1 + i + 1
		case 0x93: // STACK_GLOBAL: names come from the stack; the unpickler's FindClass checks them
		default:
			return fail("opcode %#02x is not allowed in a checkpoint", op)
		}
		if !ok {
			return fail("opcode %q: argument runs past the end of the data", op)
		}
		pos += n
		out = append(out, p[start:pos]...)
		if op == '.' {
			return out, nil
		}
	}
	return fail("no STOP opcode")
}
