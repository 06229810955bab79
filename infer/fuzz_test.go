package infer

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// tinyShapes are the smallest models of each graph: seeds for fuzzing the loader (a real-shape model would
// make every fuzz input megabytes long).
var tinyShapes = []arch.Params{
	{Family: arch.FamilyChatGLM3, ContextLength: 64, Embedding: 32, FeedForward: 64, Blocks: 1, Heads: 4, HeadsKV: 2,
		NormEpsilon: 1e-5, RopeDims: 4, RopeFreqBase: 10000, Vocab: 48},
	{Family: arch.FamilyChatGLM1, ContextLength: 64, Embedding: 32, FeedForward: 64, Blocks: 1, Heads: 4, HeadsKV: 4,
		NormEpsilon: 1e-5, RopeDims: 4, RopeFreqBase: 10000, ResidualScale: 2, Vocab: 48},
}

// FuzzLoad opens arbitrary bytes as a model (arch.ReadParams, the tensor checks, the tokenizer when there
// is one) and, for what loads, evaluates a token: no input may panic, hang or allocate beyond its size.
func FuzzLoad(f *testing.F) {
	for _, p := range tinyShapes {
		for _, typ := range []string{"f32", "q8_0"} {
			path := filepath.Join(f.TempDir(), "seed.gguf")
			if _, err := convert.SyntheticShape(context.Background(), path, p, convert.SyntheticOptions{NoVocab: true,
				Options: convert.Options{OutType: typ, Threads: 1}}); err != nil {
				f.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := gguf.Parse("fuzz.gguf", data)
		if err != nil {
			return
		}
		m, err := FromFile(file, Options{Threads: 1})
		if err != nil {
			return
		}
		defer m.be.Close()
		if m.Params.ContextLength < 2 {
			return
		}
		s, err := m.NewSession(min(16, m.Params.ContextLength), KVF32)
		if err != nil {
			return
		}
		_, _ = s.Eval([]int32{0}, false)
	})
}

// FuzzLoRA attaches arbitrary bytes as a LoRA adapter file to a tiny ChatGLM3 model: either the adapter is
// refused with an error, or the model evaluates a token with it; nothing may panic.
func FuzzLoRA(f *testing.F) {
	p := tinyShapes[0]
	dir := f.TempDir()
	base := filepath.Join(dir, "base.gguf")
	if _, err := convert.SyntheticShape(context.Background(), base, p, convert.SyntheticOptions{NoVocab: true,
		Options: convert.Options{OutType: "f32", Threads: 1}}); err != nil {
		f.Fatal(err)
	}
	// Seed: a well-formed adapter of rank 2 on the first layer's QKV.
	e, qkv := int64(p.Embedding), int64(p.QKVRows())
	meta := gguf.NewMetadata(gguf.KV{Key: arch.KeyArchitecture, Value: gguf.String(arch.ChatGLM)},
		gguf.KV{Key: arch.KeyType, Value: gguf.String("adapter")}, gguf.KV{Key: arch.KeyAdapterType, Value: gguf.String("lora")},
		gguf.KV{Key: arch.KeyAdapterLoRAAlpha, Value: gguf.Float32(4)})
	zeros := func(n int64) func(w io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(make([]byte, 4*n)); return err }
	}
	var buf bytes.Buffer
	if err := gguf.Write(context.Background(), &buf, meta, []gguf.TensorSource{
		{Name: arch.LoRAA(arch.AttnQKV(0)), Type: tensor.F32, Shape: tensor.Shape{e, 2}, WriteTo: zeros(2 * e)},
		{Name: arch.LoRAB(arch.AttnQKV(0)), Type: tensor.F32, Shape: tensor.Shape{2, qkv}, WriteTo: zeros(2 * qkv)},
	}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	// The seed must attach, or the fuzzer would only ever see refusals.
	seed := filepath.Join(dir, "seed.gguf")
	if err := os.WriteFile(seed, buf.Bytes(), 0o644); err != nil {
		f.Fatal(err)
	}
	m, err := Load(base, Options{Threads: 1, LoRA: []LoRA{{Path: seed, Scale: 1}}})
	if err != nil {
		f.Fatalf("the seed adapter is refused: %v", err)
	}
	if len(m.adapters) != 1 {
		f.Fatalf("the seed adapter attached %d weights, want 1", len(m.adapters))
	}
	m.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "a.gguf")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		m, err := Load(base, Options{Threads: 1, LoRA: []LoRA{{Path: path, Scale: 1}}})
		if err != nil {
			return
		}
		defer m.Close()
		s, err := m.NewSession(8, KVF32)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = s.Eval([]int32{1}, false)
	})
}
