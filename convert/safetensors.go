package convert

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"sort"

	"github.com/glmtool/glmtool/internal/jsonerr"
	"github.com/glmtool/glmtool/internal/mmap"
)

// maxSafetensorsHeader is the header size limit of the reference implementation (100 MB). A real shard's
// header is tens of kilobytes; the reader's time and memory are linear in the header's size.
const maxSafetensorsHeader = 100 << 20

// safetensorsEntry is one tensor of a safetensors header, as the format defines it.
type safetensorsEntry struct {
	DType       string    `json:"dtype"`
	Shape       []uint64  `json:"shape"`
	DataOffsets [2]uint64 `json:"data_offsets"`
}

// readSafetensors lists the tensors of a mapped .safetensors shard. The header is decoded entry by entry
// into typed values (a generic JSON tree costs ~15 bytes of memory per header byte), then validated as the
// reference implementation does: known dtypes, shapes whose byte count does not overflow, offsets that
// tile the data area exactly, in some order, from 0 to its end.
func readSafetensors(name string, m *mmap.Map) ([]*SourceTensor, error) {
	data := m.Data
	if len(data) < 8 {
		return nil, fmt.Errorf("safetensors: %d bytes is too small for a header", len(data))
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxSafetensorsHeader {
		return nil, fmt.Errorf("safetensors: header of %d bytes is larger than the format's limit of %d", n, maxSafetensorsHeader)
	}
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("safetensors: header of %d bytes runs past the end of the %d-byte file", n, len(data))
	}
	dataStart := 8 + int64(n)
	dataLen := uint64(int64(len(data)) - dataStart)
	entries, err := parseSafetensorsHeader(data[8:dataStart], dataLen)
	if err != nil {
		return nil, fmt.Errorf("safetensors header: %w", err)
	}
	out := make([]*SourceTensor, len(entries))
	for i, e := range entries {
		start, end := dataStart+int64(e.start), dataStart+int64(e.end)
		out[i] = &SourceTensor{Name: e.name, DType: e.dtype, Shape: e.shape, Shard: name, data: data[start:end:end], m: m, base: start}
	}
	return out, nil
}

// safetensorsTensor is a validated header entry; start and end are offsets within the data area.
type safetensorsTensor struct {
	name       string
	dtype      DType
	shape      []int64
	start, end uint64
}

// parseSafetensorsHeader decodes and validates a header whose data area holds dataLen bytes, and returns
// its tensors sorted by name.
func parseSafetensorsHeader(header []byte, dataLen uint64) ([]safetensorsTensor, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.DisallowUnknownFields()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var entries []safetensorsTensor
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %v", err)
		}
		key, _ := tok.(string)
		if seen[key] {
			return nil, fmt.Errorf("%q appears twice", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %v", jsonerr.Describe(err))
			}
			continue
		}
		var e safetensorsEntry
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: %v", key, jsonerr.Describe(err))
		}
		dt, ok := map[string]DType{"F32": F32, "F16": F16, "BF16": BF16, "I8": I8}[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: dtype %q is not supported (want F32, F16, BF16 or I8)", key, e.DType)
		}
		shape := make([]int64, len(e.Shape))
		size := uint64(dt.Size())
		for i, d := range e.Shape {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %q: dimension %d is %d, too large", key, i, d)
			}
			hi, lo := bits.Mul64(size, d)
			if hi != 0 || lo > math.MaxInt64 {
				return nil, fmt.Errorf("tensor %q: shape %v overflows a 64-bit byte count", key, e.Shape)
			}
			size = lo
			shape[i] = int64(d)
		}
		s, t := e.DataOffsets[0], e.DataOffsets[1]
		if t < s || t-s != size {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] do not hold the %d bytes its dtype and shape need", key, s, t, size)
		}
		if t > dataLen {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d-byte data area", key, s, t, dataLen)
		}
		entries = append(entries, safetensorsTensor{name: key, dtype: dt, shape: shape, start: s, end: t})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("malformed JSON: %v", err)
	}
	// The tensors must tile the data area: sorted by offset, each starts where the previous one ended.
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		return a.start < b.start || a.start == b.start && a.end < b.end
	})
	at := uint64(0)
	for _, e := range entries {
		if e.start != at {
			return nil, fmt.Errorf("tensor %q starts at byte %d of the data area, want %d (tensors must be contiguous and not overlap)", e.name, e.start, at)
		}
		at = e.end
	}
	if at != dataLen {
		return nil, fmt.Errorf("the tensors hold %d bytes, but the data area has %d", at, dataLen)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}
