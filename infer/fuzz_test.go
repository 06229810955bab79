package infer

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/gguf"
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
