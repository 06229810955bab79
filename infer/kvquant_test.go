package infer

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestQuantizedKVCache: with a Q8_0 or Q4_0 KV cache the logits of a prompt and eight decode steps stay
// within a per-type bound of the F32 cache's (the error reported in docs/BENCHMARKS.md), on the
// llama.cpp-written ChatGLM3 and GLM-4 fixtures (head width 32); a model whose heads are not a multiple
// of 32 wide is refused a quantized cache.
func TestQuantizedKVCache(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	// Measured on both fixtures (logits std 2.5): F16 1.6e-3, Q8_0 3.8e-2, Q4_0 0.75.
	bounds := map[KVType]float64{KVF16: 5e-3, KVQ8_0: 8e-2, KVQ4_0: 1.5}
	for _, file := range []string{"chatglm3-tiny-f32.gguf", "glm4-tiny-bpe-f16.gguf"} {
		m, err := Load(filepath.Join(dir, file), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		prompt := []int32{5, 9, 33, 2, 17, 40, 7, 8, 100, 3, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69}
		// Every cache type is fed the same ids: the prompt, then the F32 run's greedy ids.
		var ids []int32
		run := func(kv KVType) [][]float32 {
			s, err := m.NewSession(64, kv)
			if err != nil {
				t.Fatal(err)
			}
			var rows [][]float32
			feed := prompt
			for step := range 9 {
				lg, err := s.Eval(feed, false)
				if err != nil {
					t.Fatal(err)
				}
				rows = append(rows, append([]float32(nil), lg[0]...))
				if kv == KVF32 {
					ids = append(ids, Argmax(lg[0]))
				}
				feed = []int32{ids[step]}
			}
			return rows
		}
		ref := run(KVF32)
		var sum, sq float64
		for _, v := range ref[0] {
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		std := math.Sqrt(sq/float64(len(ref[0])) - (sum/float64(len(ref[0])))*(sum/float64(len(ref[0]))))
		for _, kv := range []KVType{KVF16, KVQ8_0, KVQ4_0} {
			got := run(kv)
			var worst float64
			for i := range ref {
				for j := range ref[i] {
					worst = math.Max(worst, math.Abs(float64(got[i][j]-ref[i][j])))
				}
			}
			if worst > bounds[kv] {
				t.Errorf("%s, %s KV cache: max |Δ logits| = %.3g against F32, want ≤ %.3g", file, kv, worst, bounds[kv])
			}
			t.Logf("%s, %s KV cache: max |Δ logits| = %.3g against F32 (logits std %.3g)", file, kv, worst, std)
		}
		m.Close()
	}
	m, err := Load(convertFixture(t, "chatglm3-6b-tiny", "f32"), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.NewSession(16, KVQ8_0); err == nil || !strings.Contains(err.Error(), "multiple of 32") {
		t.Errorf("a q8_0 cache for heads 12 wide: %v", err)
	}
}

// TestQuantizedKVDecodeDoesNotAllocate: decoding with a Q8_0 or Q4_0 cache allocates nothing either.
func TestQuantizedKVDecodeDoesNotAllocate(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	m, err := Load(filepath.Join(dir, "chatglm3-tiny-Q4_0.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, kv := range []KVType{KVQ8_0, KVQ4_0} {
		if allocs := decodeAllocs(t, m, kv); allocs > 0 {
			t.Errorf("%s cache: decoding a token allocates %.1f times", kv, allocs)
		}
	}
}
