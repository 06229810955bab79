package infer

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestDecodeBatchEqualsEval: one batched decode step of five sessions at different positions gives each
// exactly (bit for bit) the logits it gets evaluated alone, for every weight type of the llama.cpp
// fixtures and both KV cache types, so that batching never changes a greedy or seeded reply.
func TestDecodeBatchEqualsEval(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	for _, file := range []string{"chatglm3-tiny-f32.gguf", "chatglm3-tiny-f16.gguf", "chatglm3-tiny-Q4_0.gguf", "chatglm3-tiny-Q8_0.gguf",
		"chatglm3-tiny-Q4_K_M.gguf", "chatglm3-tiny-Q5_1.gguf", "glm4-tiny-bpe-Q8_0.gguf"} {
		for _, kv := range []KVType{KVF16, KVF32} {
			m, err := Load(filepath.Join(dir, file), Options{Threads: 2, Resident: true})
			if err != nil {
				t.Fatal(err)
			}
			// Five sessions: four-token kernels would take four of them at once.
			histories := [][]int32{{5, 9, 33, 2, 17}, {40}, {7, 7, 7, 8, 100, 3, 60, 61, 62, 63, 64}, {1, 2}, {90, 91, 92}}
			next := []int32{11, 12, 13, 14, 15}
			var batch, alone []*Session
			for range histories {
				a, _ := m.NewSession(64, kv)
				b, _ := m.NewSession(64, kv)
				batch, alone = append(batch, a), append(alone, b)
			}
			var want [][]float32
			for i, h := range histories {
				if _, err := batch[i].Eval(h, false); err != nil {
					t.Fatal(err)
				}
				if _, err := alone[i].Eval(h, false); err != nil {
					t.Fatal(err)
				}
				lg, err := alone[i].Eval(next[i:i+1], false)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, append([]float32(nil), lg[0]...))
			}
			got, err := m.DecodeBatch(batch, next)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("%s kv %v: session %d logit %d: batched %v, alone %v", file, kv, i, j, got[i][j], want[i][j])
					}
				}
				if batch[i].Len() != len(histories[i])+1 {
					t.Errorf("session %d holds %d tokens", i, batch[i].Len())
				}
			}
			m.Close()
		}
	}
}
