package convert

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/internal/mmap"
)

// costOf runs fn and returns its error, its wall time and the bytes it allocated.
func costOf(fn func() error) (error, time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := fn()
	el := time.Since(start)
	runtime.ReadMemStats(&after)
	return err, el, after.TotalAlloc - before.TotalAlloc
}

// readShard opens path as a checkpoint shard the way convert does.
func readShard(path string) error {
	m, err := mmap.Open(path)
	if err != nil {
		return err
	}
	defer m.Close()
	if strings.HasSuffix(path, ".safetensors") {
		_, err = readSafetensors(filepath.Base(path), m)
	} else {
		_, err = readTorchZip(filepath.Base(path), m)
	}
	return err
}

// TestHostileCheckpoints: each small file that cost gigabytes or minutes (the reproducers, built
// here) is refused with an error naming the problem, within loose bounds of time and memory (CI machines
// are slow; the note gives measured figures).
func TestHostileCheckpoints(t *testing.T) {
	one := []hfwrite.Tensor{{Name: "w", DType: "F16", Shape: []int64{2}, Fill: hfwrite.Data(make([]byte, 4))}}
	bomb := func(op byte, n int) []byte {
		return append(append([]byte("\x80\x02"), bytes.Repeat([]byte{op}, n)...), '.')
	}
	cases := []struct {
		name  string
		write func(path string) error
		want  string
	}{
		{"dict bomb", func(p string) error {
			return hfwrite.WriteTorchBin(p, one, hfwrite.TorchOptions{Pickle: bomb('}', 8<<20), DeflatePickle: true})
		}, "more than 4864 opcodes"},
		{"list bomb", func(p string) error {
			return hfwrite.WriteTorchBin(p, one, hfwrite.TorchOptions{Pickle: bomb(']', 16<<20), DeflatePickle: true})
		}, "more than 4864 opcodes"},
		{"LONG of 8M digits", func(p string) error {
			pkl := append(append([]byte("\x80\x02L"), bytes.Repeat([]byte{'7'}, 8<<20)...), "L\n."...)
			return hfwrite.WriteTorchBin(p, one, hfwrite.TorchOptions{Pickle: pkl, DeflatePickle: true})
		}, "number of 8388609 characters"},
		{"LONG4 of 1 MB", func(p string) error {
			pkl := binary.LittleEndian.AppendUint32([]byte("\x80\x02\x8b"), 1<<20)
			pkl = append(append(pkl, make([]byte, 1<<20)...), '.')
			return hfwrite.WriteTorchBin(p, one, hfwrite.TorchOptions{Pickle: pkl, DeflatePickle: true})
		}, "LONG4 of 1048576 bytes"},
		{"shape overflowing to 0 elements", func(p string) error {
			// Sizes [2^31, 2^31, 4] with their contiguous strides over a 16-element storage; the element
			// count wraps to 0 in 64 bits. Sizes past int32 need LONG1 (0x8a), which torch writes for them.
			long1 := func(v uint64) string { return "\x8a\x05" + string(binary.LittleEndian.AppendUint64(nil, v)[:5]) }
			pkl := "\x80\x02ccollections\nOrderedDict\n)R(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n(" +
				"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuJ\x10\x00\x00\x00tQ" +
				"J\x00\x00\x00\x00(" + long1(1<<31) + long1(1<<31) + "J\x04\x00\x00\x00t(" + long1(1<<33) + "J\x04\x00\x00\x00J\x01\x00\x00\x00t" +
				"\x89ccollections\nOrderedDict\n)RtRu."
			return hfwrite.WriteTorchBin(p, one, hfwrite.TorchOptions{Pickle: []byte(pkl)})
		}, "more than 2^63 elements"},
		{"safetensors shape overflow", func(p string) error {
			hdr := `{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,16]}}`
			return os.WriteFile(p, append(binary.LittleEndian.AppendUint64(nil, uint64(len(hdr))), append([]byte(hdr), make([]byte, 16)...)...), 0o644)
		}, "overflows a 64-bit byte count"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ext := ".bin"
			if strings.HasPrefix(c.name, "safetensors") {
				ext = ".safetensors"
			}
			path := filepath.Join(t.TempDir(), "pytorch_model"+ext)
			if err := c.write(path); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(path)
			err, el, alloc := costOf(func() error { return readShard(path) })
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if el > 3*time.Second || alloc > 200<<20 {
				t.Errorf("refusing a %d-byte file took %v and %d MB", st.Size(), el, alloc>>20)
			}
			t.Logf("%d-byte file refused in %v, %d MB allocated: %v", st.Size(), el, alloc>>20, err)
		})
	}
}

// TestSafetensorsLargeHeaderLinear: a valid header of 100,000 tensors (7.6 MB) parses in time and memory
// proportional to its size (the generic JSON tree of the library took ~13 bytes per header byte).
func TestSafetensorsLargeHeaderLinear(t *testing.T) {
	const n = 100000
	var hdr strings.Builder
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	for i := range n {
		fmt.Fprintf(&hdr, `,"model.layers.%06d.self_attn.q_proj.weight":{"dtype":"F16","shape":[1],"data_offsets":[%d,%d]}`, i, 2*i, 2*i+2)
	}
	hdr.WriteString("}")
	file := append(binary.LittleEndian.AppendUint64(nil, uint64(hdr.Len())), hdr.String()...)
	file = append(file, make([]byte, 2*n)...)
	var tensors []*SourceTensor
	err, el, alloc := costOf(func() error {
		var err error
		tensors, err = readSafetensors("big.safetensors", &mmap.Map{Data: file})
		return err
	})
	if err != nil || len(tensors) != n {
		t.Fatalf("%d tensors, %v", len(tensors), err)
	}
	if alloc > uint64(8*hdr.Len()) || el > 5*time.Second {
		t.Errorf("a %d-byte header took %v and %d bytes (%.1f per header byte)", hdr.Len(), el, alloc, float64(alloc)/float64(hdr.Len()))
	}
	t.Logf("%d-byte header: %v, %.1f bytes allocated per header byte", hdr.Len(), el, float64(alloc)/float64(hdr.Len()))
}

// TestSafetensorsHeaderErrors: every way a header can lie is an error naming the tensor or the field.
func TestSafetensorsHeaderErrors(t *testing.T) {
	cases := []struct{ hdr, want string }{
		{`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, `tensor "b" starts at byte 4`},
		{`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}`, `do not hold the 4 bytes`},
		{`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, `dtype "F64" is not supported`},
		{`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}`, `unknown field "extra"`},
		{`{"a":{"dtype":"F32","shape":"x","data_offsets":[0,4]}}`, `shape: got a JSON string, want a list`},
		{`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, `"a" appears twice`},
		{`{"__metadata__":{"k":1}}`, `__metadata__ must map strings to strings`},
		{`[1,2]`, `not a JSON object`},
		{`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}`, `malformed JSON`},
		{`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, `the tensors hold 4 bytes, but the data area has 8`},
	}
	for _, c := range cases {
		file := append(binary.LittleEndian.AppendUint64(nil, uint64(len(c.hdr))), c.hdr...)
		file = append(file, make([]byte, 8)...)
		_, err := readSafetensors("x.safetensors", &mmap.Map{Data: file})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "Go ") {
			t.Errorf("%s: error %v, want %q", c.hdr, err, c.want)
		}
	}
}

// TestHostileTiktoken: a 2.7 MB tokenizer.model of "aa" … "a"×2001 (5.69 GB, 53 s and a 2.72 GB GGUF
// before) is refused at once; the real GLM-4 file's merges come out as before (TestConvert checks them).
func TestHostileTiktoken(t *testing.T) {
	var tokens [][]byte
	for b := range 256 {
		tokens = append(tokens, []byte{byte(b)})
	}
	for k := 2; k <= 2001; k++ {
		tokens = append(tokens, bytes.Repeat([]byte("a"), k))
	}
	err, el, alloc := costOf(func() error { _, err := bpeMerges(tokens); return err })
	if err == nil || !strings.Contains(err.Error(), "not a real BPE vocabulary") {
		t.Fatalf("error %v, want a refusal", err)
	}
	if el > 2*time.Second || alloc > 100<<20 {
		t.Errorf("refusing took %v and %d MB", el, alloc>>20)
	}
	t.Logf("refused in %v, %d MB allocated", el, alloc>>20)
}

// TestConvertRefusesItsInput: -o naming config.json, a shard or the tokenizer (directly, through a
// symlink or a hard link) is refused before anything is written, and the input is unchanged.
func TestConvertRefusesItsInput(t *testing.T) {
	src := fixtureDir(t, "chatglm3-6b-tiny")
	dir := t.TempDir()
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "tokenizer.model"), filepath.Join(other, "link.gguf")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "config.json"), filepath.Join(other, "hard.gguf")); err != nil {
		t.Fatal(err)
	}
	shard := ""
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".safetensors") || strings.HasSuffix(e.Name(), ".bin") {
			shard = e.Name()
		}
	}
	for _, out := range []string{filepath.Join(dir, "config.json"), filepath.Join(dir, shard), filepath.Join(dir, "tokenizer.model"),
		filepath.Join(other, "link.gguf"), filepath.Join(other, "hard.gguf"), filepath.Join(dir, ".", "tokenizer_config.json"), dir} {
		before, _ := os.ReadFile(out)
		_, err := Checkpoint(context.Background(), dir, out, Options{Threads: 1})
		if err == nil || !strings.Contains(err.Error(), "is the input") {
			t.Errorf("-o %s: error %v, want a refusal", out, err)
		}
		if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
			t.Errorf("-o %s: the input changed", out)
		}
	}
}
