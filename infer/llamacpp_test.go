package infer

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/glmtool/glmtool/internal/testenv"
)

type stTensor struct {
	shape []uint64
	data  []byte
}

func readST(t *testing.T, path string) map[string]stTensor {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]stTensor{}
	for _, nt := range st.Tensors() {
		out[nt.Name] = stTensor{nt.TensorView.Shape(), nt.TensorView.Data()}
	}
	return out
}

func (s stTensor) f32(i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(s.data[4*i:]))
}
func (s stTensor) i32(i int) int32 { return int32(binary.LittleEndian.Uint32(s.data[4*i:])) }

var ggufModels = []string{"chatglm3-tiny-f32", "chatglm3-tiny-f16", "chatglm3-tiny-Q4_0", "chatglm3-tiny-Q4_1", "chatglm3-tiny-Q5_0",
	"chatglm3-tiny-Q5_1", "chatglm3-tiny-Q8_0", "chatglm3-tiny-Q4_K_M", "chatglm3-tiny-Q6_K", "glm4-tiny-bpe-f16", "glm4-tiny-bpe-Q8_0"}

// TestLlamaCppLogprobs compares log-probs with llama-perplexity's (F32 KV cache) on every GGUF written by
// llama.cpp, at the tolerances the fixture README gives for each class of file.
func TestLlamaCppLogprobs(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	for _, name := range ggufModels {
		t.Run(name, func(t *testing.T) {
			ref := readST(t, filepath.Join(dir, name+".logprobs.safetensors"))
			// Resident, as the commands load models; the greedy test below reads the file mapping.
			m, err := Load(filepath.Join(dir, name+".gguf"), Options{Threads: 2, Resident: true})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			tokens, lps, mins := ref["tokens"], ref["logprobs"], ref["min_logprob"]
			nChunk, nCtx := int(tokens.shape[0]), int(tokens.shape[1])
			nPos, vocab := int(lps.shape[1]), int(lps.shape[2])
			first := nCtx / 2
			var diffs []float64
			var klSum float64
			top1, rows := 0, 0
			for c := range nChunk {
				ids := make([]int32, nCtx)
				for i := range ids {
					ids[i] = tokens.i32(c*nCtx + i)
				}
				s, err := m.NewSession(nCtx, KVF32)
				if err != nil {
					t.Fatal(err)
				}
				logits, err := s.Eval(ids, true)
				if err != nil {
					t.Fatal(err)
				}
				for k := range nPos {
					ours := LogSoftmax(logits[first+k])
					base := (c*nPos + k) * vocab
					floor := mins.f32(c*nPos + k)
					bestRef, bestOurs := 0, 0
					var kl float64
					for v := range vocab {
						r := lps.f32(base + v)
						if r > lps.f32(base+bestRef) {
							bestRef = v
						}
						if ours[v] > ours[bestOurs] {
							bestOurs = v
						}
						if r > floor {
							diffs = append(diffs, math.Abs(float64(ours[v]-r)))
							kl += math.Exp(float64(r)) * float64(r-ours[v])
						}
					}
					klSum += kl
					rows++
					if bestRef == bestOurs {
						top1++
					}
				}
			}
			sort.Float64s(diffs)
			var mean float64
			for _, d := range diffs {
				mean += d
			}
			mean /= float64(len(diffs))
			mx, p99 := diffs[len(diffs)-1], diffs[len(diffs)*99/100]
			kl := klSum / float64(rows)
			t.Logf("max %.2e p99 %.2e mean %.2e KL %.2e top-1 %d/%d", mx, p99, mean, kl, top1, rows)
			switch {
			case strings.HasSuffix(name, "f32"):
				if mx > 0.002 || top1 != rows {
					t.Errorf("f32: max |Δ| %.3g (≤ 0.002), top-1 %d/%d (all)", mx, top1, rows)
				}
			case strings.HasSuffix(name, "f16"):
				if mx > 0.02 || mean > 0.005 || kl > 2e-5 || float64(top1) < 0.95*float64(rows) {
					t.Errorf("f16: max %.3g (≤0.02) mean %.3g (≤0.005) KL %.3g (≤2e-5) top-1 %d/%d (≥95%%)", mx, mean, kl, top1, rows)
				}
			default:
				if kl > 0.005 || mean > 0.15 || p99 > 0.5 || mx > 1 || float64(top1) < 0.9*float64(rows) {
					t.Errorf("quantized: KL %.3g (≤0.005) mean %.3g (≤0.15) p99 %.3g (≤0.5) max %.3g (≤1) top-1 %d/%d (≥90%%)", kl, mean, p99, mx, top1, rows)
				}
			}
		})
	}
}

// TestLlamaCppGreedy follows greedy.json's protocol: the first robust_steps ids exactly, then agreement
// until a step whose top1-top2 margin is below tau.
func TestLlamaCppGreedy(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "greedy.json"))
	raw, err := os.ReadFile(filepath.Join(dir, "greedy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Files map[string]struct {
			PromptIDs   []int32   `json:"prompt_ids"`
			Generated   []int32   `json:"generated_ids"`
			Margins     []float64 `json:"top1_minus_top2_logit"`
			Tau         float64   `json:"tau"`
			RobustSteps int       `json:"robust_steps"`
		} `json:"files"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	for _, name := range ggufModels {
		f, ok := g.Files[name+".gguf"]
		if !ok {
			t.Fatalf("greedy.json lacks %s", name)
		}
		m, err := Load(filepath.Join(dir, name+".gguf"), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := m.NewSession(256, KVF32)
		feed := f.PromptIDs
		var got []int32
		for range f.Generated {
			logits, err := s.Eval(feed, false)
			if err != nil {
				t.Fatal(err)
			}
			id := Argmax(logits[0])
			got = append(got, id)
			feed = []int32{id}
		}
		m.Close()
		if !slices.Equal(got[:f.RobustSteps], f.Generated[:f.RobustSteps]) {
			t.Errorf("%s: first %d ids %v, want %v", name, f.RobustSteps, got[:f.RobustSteps], f.Generated[:f.RobustSteps])
			continue
		}
		for i := f.RobustSteps; i < len(got); i++ {
			if got[i] != f.Generated[i] {
				if f.Margins[i] >= f.Tau {
					t.Errorf("%s: step %d differs (%d vs %d) although its margin %.3g ≥ tau %.3g", name, i, got[i], f.Generated[i], f.Margins[i], f.Tau)
				}
				break
			}
		}
	}
}
