package cuda_test

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/backend/cuda"
	"github.com/glmtool/glmtool/backend/cuda/cudatest"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/testenv"
)

// loadPair loads path on the CPU backend and on a CUDA test backend, both closed when the test ends.
func loadPair(t *testing.T, path string, lora []infer.LoRA) (cm, gm *infer.Model, gb *cuda.Backend) {
	t.Helper()
	cm, err := infer.Load(path, infer.Options{Threads: 2, LoRA: lora})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cm.Close() })
	if gb, err = cuda.New(cudatest.Options(t)); err != nil {
		t.Fatal(err)
	}
	if gm, err = infer.Load(path, infer.Options{Backend: gb, LoRA: lora}); err != nil {
		gb.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { gm.Close() })
	return cm, gm, gb
}

// within fails the test at the first logit of got more than tol from want's, and returns the largest
// difference.
func within(t *testing.T, label string, got, want [][]float32, tol float64) float64 {
	t.Helper()
	worst := 0.0
	for i := range want {
		for j := range want[i] {
			d := math.Abs(float64(got[i][j] - want[i][j]))
			if !(d <= tol) { // NaN fails too
				t.Fatalf("%s: logit row %d, token %d: %g, want %g (|Δ| %.3g > %.3g)", label, i, j, got[i][j], want[i][j], d, tol)
			}
			worst = max(worst, d)
		}
	}
	return worst
}

// evalAll runs a prompt (logits after every token), three decode steps of one session and one step of a
// two-session batch, returning every logit row in order.
func evalAll(t *testing.T, m *infer.Model, kv infer.KVType) [][]float32 {
	t.Helper()
	var out [][]float32
	keep := func(rows [][]float32, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, append([]float32(nil), r...))
		}
	}
	prompt := []int32{5, 17, 3, 60, 9, 33, 2, 41, 12}
	if m.Tok != nil { // a prompt of real tokens where the model has a vocabulary (ChatGLM-6B needs [gMASK] <sop>)
		if ids := m.Tok.Encode("你好, GLM! 1+1=2"); len(ids) > 0 {
			prompt = ids
		}
	}
	a, err := m.NewSession(64, kv)
	if err != nil {
		t.Fatal(err)
	}
	keep(a.Eval(prompt, true))
	for _, id := range []int32{7, 11, 13} {
		keep(a.Eval([]int32{id}, false))
	}
	b, err := m.NewSession(64, kv)
	if err != nil {
		t.Fatal(err)
	}
	keep(b.Eval(prompt[:3], false))
	keep(m.DecodeBatch([]*infer.Session{a, b}, []int32{19, 23}))
	return out
}

// TestModelsMatchCPU: every architecture (ChatGLM-6B, ChatGLM2/3, GLM-4, GLM-4-0414, GLM-Edge, from the HF
// fixtures) and every weight type (llama.cpp's quantized GGUF fixtures), a runtime LoRA adapter and a
// P-Tuning prefix, evaluated on the CUDA backend give the CPU backend's logits within 2e-3 at F32 and F16
// (float32 sums in another order). For quantized weights the CPU quantizes activations to 8 bits (as
// ggml) and the GPU keeps them in float32, so the two differ by the CPU's activation rounding (logits
// have std ≈ 2.5 in these fixtures): there they must agree within 0.25, and the GPU's logits must be at
// least as close as the CPU's to those of the same weights unquantized (the fixture's f32 or f16 file).
func TestModelsMatchCPU(t *testing.T) {
	td := testenv.TestData(t)
	hf := func(name, outType string, opt convert.Options) func(t *testing.T) string {
		return func(t *testing.T) string {
			testenv.Path(t, "hf", name) // skips (fails under CI) where the HF fixtures are absent
			if opt.PTuning != "" {
				testenv.Path(t, "ptuning", filepath.Base(opt.PTuning))
			}
			out := filepath.Join(t.TempDir(), name+".gguf")
			opt.OutType, opt.Threads = outType, 2
			if _, err := convert.Checkpoint(context.Background(), filepath.Join(td, "hf", name), out, opt); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	file := func(name string) func(t *testing.T) string {
		return func(t *testing.T) string { return testenv.Path(t, "gguf", name) }
	}
	cases := []struct {
		name string
		path func(t *testing.T) string
		tol  float64
		kv   infer.KVType
		lora string // an HF LoRA adapter folder applied at run time
		ref  string // for a quantized file, the same weights unquantized
	}{
		{"chatglm-6b f32", hf("chatglm-6b-tiny", "f32", convert.Options{}), 2e-3, infer.KVF32, "", ""},
		{"chatglm-6b f16 + p-tuning", hf("chatglm-6b-tiny", "f16", convert.Options{PTuning: filepath.Join(td, "ptuning", "chatglm-6b-tiny")}), 2e-3, infer.KVF16, "", ""},
		{"chatglm2-6b f16", hf("chatglm2-6b-tiny", "f16", convert.Options{}), 2e-3, infer.KVF16, "", ""},
		{"chatglm3-6b f32 + lora", hf("chatglm3-6b-tiny", "f32", convert.Options{}), 2e-3, infer.KVF32, "chatglm3-6b-tiny", ""},
		{"glm-4-9b-chat bf16", hf("glm-4-9b-chat-tiny", "bf16", convert.Options{}), 2e-3, infer.KVF16, "", ""},
		{"glm-4-9b-0414 f32", hf("glm-4-9b-0414-tiny", "f32", convert.Options{}), 2e-3, infer.KVF32, "", ""},
		{"glm-edge-1.5b f16", hf("glm-edge-1.5b-chat-tiny", "f16", convert.Options{}), 2e-3, infer.KVF16, "", ""},
		{"llama.cpp Q4_0", file("chatglm3-tiny-Q4_0.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp Q4_1", file("chatglm3-tiny-Q4_1.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp Q5_0", file("chatglm3-tiny-Q5_0.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp Q5_1", file("chatglm3-tiny-Q5_1.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		// Every matrix Q8_0: the GPU quantizes activations as the CPU does (mmvq.cu), so the two agree closely.
		{"llama.cpp Q8_0", file("chatglm3-tiny-Q8_0.gguf"), 1e-3, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp Q4_K_M", file("chatglm3-tiny-Q4_K_M.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp Q6_K", file("chatglm3-tiny-Q6_K.gguf"), 0.25, infer.KVF16, "", "chatglm3-tiny-f32.gguf"},
		{"llama.cpp glm4 Q8_0", file("glm4-tiny-bpe-Q8_0.gguf"), 0.25, infer.KVF16, "", "glm4-tiny-bpe-f16.gguf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			var lora []infer.LoRA
			if tc.lora != "" {
				out := filepath.Join(t.TempDir(), "lora.gguf")
				if _, err := convert.LoRAFile(context.Background(), filepath.Join(td, "lora", tc.lora), path, out, convert.Options{}); err != nil {
					t.Fatal(err)
				}
				lora = []infer.LoRA{{Path: out, Scale: 1}}
			}
			cm, gm, gb := loadPair(t, path, lora)
			want, got := evalAll(t, cm, tc.kv), evalAll(t, gm, tc.kv)
			worst := within(t, "cuda against cpu", got, want, tc.tol)
			t.Logf("%d logit rows, worst |Δ| %.3g (bound %.3g); device memory %+v", len(want), worst, tc.tol, gb.DeviceMemory())
			if tc.ref != "" {
				rm, err := infer.Load(filepath.Join(td, "gguf", tc.ref), infer.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer rm.Close()
				ref := evalAll(t, rm, tc.kv)
				cpuErr, gpuErr := rms(want, ref), rms(got, ref)
				t.Logf("RMS distance to the unquantized weights' logits: cpu %.4g, cuda %.4g", cpuErr, gpuErr)
				if gpuErr > 1.05*cpuErr+1e-3 {
					t.Errorf("the CUDA logits are further from the unquantized model's (%.4g) than the CPU's (%.4g)", gpuErr, cpuErr)
				}
			}
		})
	}
}

// rms is the root-mean-square difference of two sets of logit rows (a nil row of b counts as zeros).
func rms(a, b [][]float32) float64 {
	var s float64
	n := 0
	for i := range a {
		for j := range a[i] {
			d := float64(a[i][j])
			if b[i] != nil {
				d -= float64(b[i][j])
			}
			s += d * d
			n++
		}
	}
	return math.Sqrt(s / float64(n))
}

// TestSessionCloseFreesDevice: a session's KV cache and buffers are device memory, given back by Close
// (bench and perplexity open one per measurement or chunk), and the peak is kept for bench's vram_bytes.
func TestSessionCloseFreesDevice(t *testing.T) {
	gb, err := cuda.New(cudatest.Options(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := infer.Load(testenv.Path(t, "gguf", "chatglm3-tiny-Q4_0.gguf"), infer.Options{Backend: gb})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v0, _ := m.VRAM()
	before := v0.Held
	for range 3 {
		s, err := m.NewSession(256, infer.KVF16)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Eval([]int32{1, 2, 3, 4, 5}, true); err != nil {
			t.Fatal(err)
		}
		if v, _ := m.VRAM(); v.Held <= before {
			t.Fatalf("a session holds no device memory: %d before, %d with it", before, v.Held)
		}
		s.Close()
	}
	v1, _ := m.VRAM()
	after, peak := v1.Held, v1.Peak
	if v1.FreeAtStart == 0 || v1.FreeLoaded >= v1.FreeAtStart || v1.FreeFirstEval == 0 || v1.FreeFirstEval > v1.FreeLoaded {
		t.Errorf("free memory before load %d, after load %d, after the first evaluation %d: want each below the one before", v1.FreeAtStart, v1.FreeLoaded, v1.FreeFirstEval)
	}
	if after != before {
		t.Errorf("device memory %d before the sessions, %d after closing them", before, after)
	}
	// One session's cache: 2 layers × 256 slots × 64 values × 2 bytes, keys and values.
	if peak < before+2*2*256*64*2 {
		t.Errorf("peak %d, want at least the weights (%d) and one session's cache", peak, before)
	}
}

// TestSyntheticArchitecturesMatchCPU: each preset's architecture at a tiny shape (random weights, no
// vocabulary, so it needs no test data and runs on a GPU machine too), at F16 and Q4_0 with an F32 KV
// cache, gives the CPU's logits on the CUDA backend: within 2e-3 at F16, and at Q4_0 within 5 % of the
// logits' RMS (about 2.5, and 20 for ChatGLM-6B's residual scaling), where the blocks' products quantize
// activations the same way on both and the output layer (Q6_K, as llama-quantize picks it) differs by
// the CPU's Q8_K activations; there the GPU's logits must also be at least as close as the CPU's to the
// F16 file's (the same weights: a synthetic model is a function of its seed).
func TestSyntheticArchitecturesMatchCPU(t *testing.T) {
	for _, name := range []string{"chatglm-6b", "chatglm3-6b", "glm4-9b", "glm4-9b-0414", "glm-edge-1.5b"} {
		t.Run(name, func(t *testing.T) {
			p := convert.Presets[name]
			p.Embedding, p.FeedForward, p.Blocks, p.Heads, p.Vocab, p.ContextLength = 256, 384, 2, 4, 384, 256
			p.HeadsKV = min(p.HeadsKV, p.Heads)
			p.RopeDims = 32 // half of the 64-wide heads, as the real models rotate half of theirs
			var ref [][]float32
			for _, typ := range []string{"f16", "q4_0"} {
				path := filepath.Join(t.TempDir(), typ+".gguf")
				if _, err := convert.SyntheticShape(context.Background(), path, p, convert.SyntheticOptions{NoVocab: true, Seed: 7,
					Options: convert.Options{OutType: typ, Threads: 2}}); err != nil {
					t.Fatal(err)
				}
				cm, gm, _ := loadPair(t, path, nil)
				want, got := evalAll(t, cm, infer.KVF32), evalAll(t, gm, infer.KVF32)
				tol := 2e-3
				if typ == "q4_0" {
					tol = 0.05 * rms(want, make([][]float32, len(want)))
				}
				worst := within(t, typ+" cuda against cpu", got, want, tol)
				t.Logf("%s (%s) %s: %d rows, worst |Δ| %.3g (bound %.3g)", name, p.Family.Architecture(), typ, len(want), worst, tol)
				if ref == nil {
					ref = want
					continue
				}
				cpuErr, gpuErr := rms(want, ref), rms(got, ref)
				t.Logf("RMS distance to the F16 weights' logits: cpu %.4g, cuda %.4g", cpuErr, gpuErr)
				if gpuErr > 1.05*cpuErr+1e-3 {
					t.Errorf("the CUDA logits are further from the F16 model's (%.4g) than the CPU's (%.4g)", gpuErr, cpuErr)
				}
			}
		})
	}
}
