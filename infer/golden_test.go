package infer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/internal/testenv"
)

type golden struct {
	PromptIDs  []int32 `json:"prompt_ids"`
	Generation struct {
		GreedyIDs []int32 `json:"greedy_ids"`
	} `json:"generation"`
}

// loadGolden reads golden.json and the logits rows of golden.safetensors.
func loadGolden(t *testing.T, dir string) (golden, [][]float32) {
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "golden.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	tv, ok := st.Tensor("logits")
	if !ok {
		t.Fatal("golden.safetensors has no logits")
	}
	shape := tv.Shape()
	logits := make([][]float32, shape[0])
	b := tv.Data()
	for r := range logits {
		logits[r] = make([]float32, shape[1])
		for c := range logits[r] {
			logits[r][c] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*(int(r)*int(shape[1])+c):]))
		}
	}
	return g, logits
}

// convertFixture converts an HF fixture to GGUF of the given type, once per test.
func convertFixture(t *testing.T, name, outType string) string {
	out := filepath.Join(t.TempDir(), name+"-"+outType+".gguf")
	if _, err := convert.Checkpoint(context.Background(), filepath.Join(testenv.TestData(t), "hf", name), out, convert.Options{OutType: outType, Threads: 2}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenLogits: each HF fixture, converted to F32 and run with an F32 KV cache, reproduces the
// reference implementation's logits (max |Δ| ≤ 1e-3) for the prompt and 8 cached decode steps, with
// identical greedy ids; the F16 conversion gives the same greedy ids.
func TestGoldenLogits(t *testing.T) {
	for _, name := range []string{"chatglm-6b-tiny", "chatglm2-6b-tiny", "chatglm3-6b-tiny", "glm-4-9b-chat-tiny"} {
		t.Run(name, func(t *testing.T) {
			g, want := loadGolden(t, filepath.Join(testenv.TestData(t), "hf", name))
			for _, outType := range []string{"f32", "f16"} {
				m, err := Load(convertFixture(t, name, outType), Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				kv := KVF32
				if outType == "f16" {
					kv = KVF16
				}
				s, err := m.NewSession(256, kv)
				if err != nil {
					t.Fatal(err)
				}
				feed := g.PromptIDs
				var worst float64
				for step := range want {
					logits, err := s.Eval(feed, false)
					if err != nil {
						t.Fatal(err)
					}
					row := logits[0]
					if got := Argmax(row); got != g.Generation.GreedyIDs[step] {
						t.Fatalf("%s step %d: greedy id %d, want %d", outType, step, got, g.Generation.GreedyIDs[step])
					}
					if outType == "f32" {
						for i := range row {
							worst = math.Max(worst, math.Abs(float64(row[i]-want[step][i])))
						}
					}
					feed = []int32{g.Generation.GreedyIDs[step]}
				}
				if worst > 1e-3 {
					t.Errorf("%s: max |Δ logits| = %.3g, want ≤ 1e-3", outType, worst)
				}
				if outType == "f32" {
					t.Logf("max |Δ logits| = %.3g over %d rows", worst, len(want))
				}
				m.Close()
			}
		})
	}
}
