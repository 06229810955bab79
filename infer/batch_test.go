package infer

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestEvalBatchEqualsEval: one batch of five sessions at different positions, two of them feeding a
// prompt's chunk (seven and thirteen tokens) and three a decode step, gives each exactly (bit for bit) the
// logits it gets evaluated alone, for every weight type of the llama.cpp fixtures and both KV cache types;
// so does the decode step of all five after it (DecodeBatch), which reads what the first batch stored.
// Batching never changes a greedy or seeded reply.
func TestEvalBatchEqualsEval(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	for _, file := range []string{"chatglm3-tiny-f32.gguf", "chatglm3-tiny-f16.gguf", "chatglm3-tiny-Q4_0.gguf", "chatglm3-tiny-Q8_0.gguf",
		"chatglm3-tiny-Q4_K_M.gguf", "chatglm3-tiny-Q5_1.gguf", "glm4-tiny-bpe-Q8_0.gguf"} {
		for _, kv := range []KVType{KVF16, KVF32} {
			m, err := Load(filepath.Join(dir, file), Options{Threads: 2, Resident: true})
			if err != nil {
				t.Fatal(err)
			}
			// Five sessions: four-token kernels would take four rows at once, across the parts.
			histories := [][]int32{{5, 9, 33, 2, 17}, {40}, {7, 7, 7, 8, 100, 3, 60, 61, 62, 63, 64}, {1, 2}, {90, 91, 92}}
			feeds := [][]int32{{11}, {12, 20, 21, 22, 23, 24, 25}, {13}, {14, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41}, {15}}
			next := []int32{50, 51, 52, 53, 54}
			var batch, alone []*Session
			for range histories {
				a, _ := m.NewSession(64, kv)
				b, _ := m.NewSession(64, kv)
				batch, alone = append(batch, a), append(alone, b)
			}
			var want, wantNext [][]float32
			for i, h := range histories {
				if _, err := batch[i].Eval(h, false); err != nil {
					t.Fatal(err)
				}
				if _, err := alone[i].Eval(h, false); err != nil {
					t.Fatal(err)
				}
				lg, err := alone[i].Eval(feeds[i], false)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, append([]float32(nil), lg[0]...))
				lg, err = alone[i].Eval(next[i:i+1], false)
				if err != nil {
					t.Fatal(err)
				}
				wantNext = append(wantNext, append([]float32(nil), lg[0]...))
			}
			parts := make([]BatchPart, len(batch))
			for i, s := range batch {
				parts[i] = BatchPart{Session: s, Tokens: feeds[i]}
			}
			got, err := m.EvalBatch(parts)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, fmt.Sprintf("%s kv %v: mixed batch", file, kv), got, want)
			got, err = m.DecodeBatch(batch, next)
			if err != nil {
				t.Fatal(err)
			}
			sameBits(t, fmt.Sprintf("%s kv %v: decode step after it", file, kv), got, wantNext)
			for i := range batch {
				if n := len(histories[i]) + len(feeds[i]) + 1; batch[i].Len() != n {
					t.Errorf("session %d holds %d tokens, want %d", i, batch[i].Len(), n)
				}
			}
			m.Close()
		}
	}
}

func sameBits(t *testing.T, what string, got, want [][]float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for i := range want {
		for j := range want[i] {
			if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
				t.Fatalf("%s: session %d logit %d: batched %v, alone %v", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestEvalBatchRefusals: a batch that cannot run changes no session.
func TestEvalBatchRefusals(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	m, err := Load(filepath.Join(dir, "chatglm3-tiny-Q4_0.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	a, _ := m.NewSession(8, KVF32)
	b, _ := m.NewSession(8, KVF32)
	for _, tc := range []struct {
		name  string
		parts []BatchPart
	}{
		{"none", nil},
		{"twice", []BatchPart{{a, []int32{1}}, {a, []int32{2}}}},
		{"no session", []BatchPart{{a, []int32{1}}, {nil, []int32{2}}}},
		{"no tokens", []BatchPart{{a, []int32{1}}, {b, nil}}},
		{"past the context", []BatchPart{{a, []int32{1}}, {b, make([]int32, 9)}}},
		{"outside the vocabulary", []BatchPart{{a, []int32{1}}, {b, []int32{-1}}}},
	} {
		if _, err := m.EvalBatch(tc.parts); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if a.Len() != 0 || b.Len() != 0 {
			t.Fatalf("%s: the sessions hold %d and %d tokens after a refused batch", tc.name, a.Len(), b.Len())
		}
	}
}
