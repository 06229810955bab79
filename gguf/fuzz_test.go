package gguf

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// addFixtureSeeds adds the metadata of each shared llama.cpp fixture, with its arrays (vocabularies,
// merges) cut to 8 elements and the sample tensors in place of the real ones, when the shared data are
// present. Whole headers are hundreds of kilobytes: the fuzzer spent its time running and minimising them
// instead of mutating the structure that matters.
func addFixtureSeeds(f *testing.F) {
	dir, ok := findSharedGGUF()
	if !ok {
		return
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*.gguf"))
	for _, p := range paths {
		file, err := Open(p)
		if err != nil {
			continue
		}
		meta := NewMetadata()
		for _, kv := range file.Meta.KVs() {
			meta.Set(kv.Key, shortArray(kv.Value, 8))
		}
		file.Close()
		var buf bytes.Buffer
		if err := Write(context.Background(), &buf, meta, sampleTensors(rand.New(rand.NewPCG(1, 1)))); err == nil {
			f.Add(buf.Bytes())
		}
	}
}

// shortArray cuts an array value to its first n elements; other values are returned as they are.
func shortArray(v Value, n int) Value {
	switch xs := v.Any().(type) {
	case []string:
		return Array(xs[:min(n, len(xs))])
	case []float32:
		return Array(xs[:min(n, len(xs))])
	case []int32:
		return Array(xs[:min(n, len(xs))])
	case []uint32:
		return Array(xs[:min(n, len(xs))])
	}
	return v
}

func findSharedGGUF() (string, bool) {
	if d := os.Getenv("GLMTOOL_TESTDATA"); d != "" {
		return filepath.Join(d, "gguf"), true
	}
	d := filepath.Join("..", "..", "shared", "testdata", "gguf")
	_, err := os.Stat(d)
	return d, err == nil
}

// FuzzParse checks that no input makes the reader panic or hang, and that whatever it accepts is
// consistent: every tensor lies inside the input, and writing the parsed file reproduces a file that parses
// to the same header.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, sampleMeta(), sampleTensors(rand.New(rand.NewPCG(7, 7)))); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(oneTensor().Bytes())
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.gguf", data)
		if err != nil {
			return
		}
		for i := range file.Tensors {
			ti := &file.Tensors[i]
			if end := file.DataOffset + int64(ti.Offset) + ti.Size; end > int64(len(data)) {
				t.Fatalf("tensor %q ends at %d, past %d", ti.Name, end, len(data))
			}
			_ = file.Data(ti)
		}
		if file.Alignment > 1<<16 {
			return // valid, but rewriting would pad with up to 2 GiB of zeros
		}
		var out bytes.Buffer
		if err := Write(context.Background(), &out, file.Meta, file.Sources()); err != nil {
			// Only tensor layouts that the writer lays out differently may fail; parse errors may not.
			return
		}
		again, err := Parse("again.gguf", out.Bytes())
		if err != nil {
			t.Fatalf("rewritten file does not parse: %v", err)
		}
		if again.Meta.Len() != file.Meta.Len() || len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("rewritten file has %d kv / %d tensors, want %d / %d", again.Meta.Len(), len(again.Tensors), file.Meta.Len(), len(file.Tensors))
		}
		for i, kv := range file.Meta.KVs() {
			if k2 := again.Meta.KVs()[i]; k2.Key != kv.Key || !k2.Value.Equal(kv.Value) {
				t.Fatalf("kv %q changed in the round trip", kv.Key)
			}
		}
	})
}
