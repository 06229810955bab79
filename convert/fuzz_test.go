package convert

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/internal/mmap"
)

// sampleTorchZip is a small valid torch.save archive.
func sampleTorchZip(f *testing.F) []byte {
	path := filepath.Join(f.TempDir(), "s.bin")
	ts := []hfwrite.Tensor{
		{Name: "a.weight", DType: "F16", Shape: []int64{2, 3}, Fill: hfwrite.Data(make([]byte, 12))},
		{Name: "b.bias", DType: "F32", Shape: []int64{3}, Fill: hfwrite.Data(make([]byte, 12))},
	}
	if err := hfwrite.WriteTorchBin(path, ts, hfwrite.TorchOptions{}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzPickle feeds arbitrary bytes to the pickle sanitizer and the restricted unpickler: no input may make
// them panic, hang or allocate more than the input justifies.
func FuzzPickle(f *testing.F) {
	ts := []hfwrite.Tensor{{Name: "w", DType: "F16", Shape: []int64{4, 2}}, {Name: "b", DType: "BF16", Shape: []int64{4}}}
	f.Add(hfwrite.StatePickle(ts))
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."))
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01u."))
	f.Add([]byte("\x80\x02X\xff\xff\xff\x7f."))
	f.Fuzz(func(t *testing.T, data []byte) {
		clean, err := sanitizePickle(data)
		if err != nil {
			return
		}
		_, _ = unpickle(clean)
	})
}

// FuzzTorchZip opens arbitrary bytes as a .bin shard.
func FuzzTorchZip(f *testing.F) {
	f.Add(sampleTorchZip(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
			return
		}
		tensors, err := readTorchZip("fuzz.bin", &mmap.Map{Data: data})
		if err != nil {
			return
		}
		for _, ts := range tensors {
			if int64(len(ts.Bytes())) != ts.Elements()*ts.DType.Size() {
				t.Fatalf("tensor %s: %d bytes for %d elements", ts.Name, len(ts.Bytes()), ts.Elements())
			}
		}
	})
}

// FuzzTokenizers parses arbitrary bytes as SentencePiece protobuf and as a tiktoken rank file.
func FuzzTokenizers(f *testing.F) {
	f.Add([]byte("\x0a\x0b\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02"))
	f.Add([]byte("IQ== 0\nIg== 1\n"))
	f.Add([]byte("\x0a\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseSPM(data)
		if ranks, err := parseTiktoken(data); err == nil {
			_, _ = bpeMerges(ranks)
		}
	})
}

// FuzzSafetensors opens arbitrary bytes as a .safetensors shard.
func FuzzSafetensors(f *testing.F) {
	path := filepath.Join(f.TempDir(), "s.safetensors")
	ts := []hfwrite.Tensor{{Name: "w", DType: "BF16", Shape: []int64{2, 2}, Fill: hfwrite.Data(make([]byte, 8))}}
	if err := hfwrite.WriteSafetensors(path, ts); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, err := readSafetensors("fuzz.safetensors", &mmap.Map{Data: data})
		if err != nil {
			return
		}
		for _, ts := range tensors {
			if int64(len(ts.Bytes())) != ts.Elements()*ts.DType.Size() {
				t.Fatalf("tensor %s: %d bytes for %d elements", ts.Name, len(ts.Bytes()), ts.Elements())
			}
		}
	})
}
