package infer

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tokenizer"
)

// runGolden feeds the golden's prompt and then its greedy ids one at a time (the fixtures' protocol: row 0
// after the prompt, row k after generated id k-1), and returns the largest |Δ logit| against want; every
// step's greedy id must be the golden's.
func runGolden(t *testing.T, m *Model, g golden, want [][]float32, kv KVType) float64 {
	t.Helper()
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
			t.Fatalf("step %d: greedy id %d, want %d", step, got, g.Generation.GreedyIDs[step])
		}
		for i := range row {
			worst = math.Max(worst, math.Abs(float64(row[i]-want[step][i])))
		}
		feed = []int32{g.Generation.GreedyIDs[step]}
	}
	return worst
}

// convertWith converts an HF base fixture with conversion options (a P-Tuning prefix, a LoRA merge).
func convertWith(t *testing.T, base string, opt convert.Options) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), base+".gguf")
	opt.Threads = 2
	if _, err := convert.Checkpoint(context.Background(), filepath.Join(testenv.TestData(t), "hf", base), out, opt); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenPTuning: each P-Tuning v2 checkpoint, converted with its base at F32 (the prefix stored in
// the file), reproduces the reference code's logits within 1e-4 with identical greedy ids: the prefix in
// every layer's cache, unrotated, visible to every token, and positions that ignore it.
func TestGoldenPTuning(t *testing.T) {
	for _, name := range []string{"chatglm-6b-tiny", "chatglm2-6b-tiny", "chatglm3-6b-tiny"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(testenv.TestData(t), "ptuning", name)
			g, want := loadGolden(t, dir)
			m, err := Load(convertWith(t, name, convert.Options{OutType: "f32", PTuning: dir}), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Params.PrefixLen != 8 {
				t.Fatalf("prefix length %d, want 8", m.Params.PrefixLen)
			}
			if m.Tok != nil { // ChatGLM2/3: the chat template gives the golden's prompt
				msgs := basePromptMessages(t, name)
				ids, err := m.Tok.ChatPrompt(msgs)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids, g.PromptIDs) {
					t.Fatalf("chat template: %v, the golden's prompt %v", ids, g.PromptIDs)
				}
				g.PromptIDs = ids
			}
			worst := runGolden(t, m, g, want, KVF32)
			if worst > 1e-4 {
				t.Errorf("max |Δ logits| = %.3g, want ≤ 1e-4", worst)
			}
			t.Logf("max |Δ logits| = %.3g over %d rows", worst, len(want))
		})
	}
}

// basePromptMessages is the conversation of a base fixture's golden prompt (history, then the query).
func basePromptMessages(t *testing.T, name string) []tokenizer.Message {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testenv.TestData(t), "hf", name, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Prompt struct {
			History []tokenizer.Message `json:"history"`
			Query   string              `json:"query"`
		} `json:"prompt"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return append(g.Prompt.History, tokenizer.Message{Role: "user", Content: g.Prompt.Query})
}

// TestGoldenLoRAMerged: each LoRA adapter (safetensors, and its .bin twin), merged at conversion into an
// F32 base, reproduces the merged reference model's logits within 1e-4 with identical greedy ids.
func TestGoldenLoRAMerged(t *testing.T) {
	for _, name := range []string{"chatglm-6b-tiny", "chatglm3-6b-tiny", "glm-4-9b-chat-tiny"} {
		for _, twin := range []string{"", "-bin"} {
			t.Run(name+twin, func(t *testing.T) {
				g, want := loadGolden(t, filepath.Join(testenv.TestData(t), "lora", name))
				m, err := Load(convertWith(t, name, convert.Options{OutType: "f32", LoRA: filepath.Join(testenv.TestData(t), "lora", name+twin)}), Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				worst := runGolden(t, m, g, want, KVF32)
				if worst > 1e-4 {
					t.Errorf("max |Δ logits| = %.3g, want ≤ 1e-4", worst)
				}
				t.Logf("max |Δ logits| = %.3g over %d rows", worst, len(want))
			})
		}
	}
}

// adapterFile converts a LoRA fixture to a GGUF adapter for the base file.
func adapterFile(t *testing.T, name, base string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+"-lora.gguf")
	if _, err := convert.LoRAFile(context.Background(), filepath.Join(testenv.TestData(t), "lora", name), base, out, convert.Options{}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGoldenLoRARuntime: each LoRA adapter as a GGUF adapter file applied at run time (--lora) on the F32
// base matches the merged reference model within 1e-4 with identical greedy ids; at scale 0 the logits
// are the base model's bit for bit; on F16 and Q8_0 bases they stay within a per-type bound of the
// reference, with its greedy id wherever the reference margin exceeds twice that bound.
func TestGoldenLoRARuntime(t *testing.T) {
	for _, name := range []string{"chatglm-6b-tiny", "chatglm3-6b-tiny", "glm-4-9b-chat-tiny"} {
		t.Run(name, func(t *testing.T) {
			g, want := loadGolden(t, filepath.Join(testenv.TestData(t), "lora", name))
			base := convertWith(t, name, convert.Options{OutType: "f32"})
			lora := adapterFile(t, name, base)
			m, err := Load(base, Options{Threads: 2, Resident: true, LoRA: []LoRA{{Path: lora, Scale: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			worst := runGolden(t, m, g, want, KVF32)
			m.Close()
			if worst > 1e-4 {
				t.Errorf("max |Δ logits| = %.3g, want ≤ 1e-4", worst)
			}
			t.Logf("runtime adapter on F32: max |Δ logits| = %.3g", worst)

			// Scale 0: exactly the base model.
			plain, err := Load(base, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			zero, err := Load(base, Options{Threads: 2, LoRA: []LoRA{{Path: lora, Scale: 0}}})
			if err != nil {
				t.Fatal(err)
			}
			a, _ := plain.NewSession(128, KVF32)
			b, _ := zero.NewSession(128, KVF32)
			la, err := a.Eval(g.PromptIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			lb, err := b.Eval(g.PromptIDs, true)
			if err != nil {
				t.Fatal(err)
			}
			for i := range la {
				for j := range la[i] {
					if math.Float32bits(la[i][j]) != math.Float32bits(lb[i][j]) {
						t.Fatalf("scale 0: row %d logit %d is %v, the base gives %v", i, j, lb[i][j], la[i][j])
					}
				}
			}
			plain.Close()
			zero.Close()

			for typ, bound := range map[string]float64{"f16": 5e-3, "q8_0": 4e-2} {
				qbase := convertWith(t, name, convert.Options{OutType: typ})
				m, err := Load(qbase, Options{Threads: 2, LoRA: []LoRA{{Path: lora, Scale: 1}}})
				if err != nil {
					t.Fatal(err)
				}
				checkWithinBound(t, m, g, want, bound, "runtime adapter on "+typ)
				m.Close()
			}
		})
	}
}

// TestLoRAMismatch: an adapter is refused with a clear error when it does not fit the model.
func TestLoRAMismatch(t *testing.T) {
	base3 := convertWith(t, "chatglm3-6b-tiny", convert.Options{OutType: "f32"})
	base4 := convertWith(t, "glm-4-9b-chat-tiny", convert.Options{OutType: "f32"})
	lora4 := adapterFile(t, "glm-4-9b-chat-tiny", base4)
	for _, c := range []struct {
		path, want string
	}{
		{lora4, "made for a glm4 model"},
		{base4, "not \"adapter\""},
	} {
		_, err := Load(base3, Options{Threads: 1, LoRA: []LoRA{{Path: c.path, Scale: 1}}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s on chatglm3: error %v, want one mentioning %q", filepath.Base(c.path), err, c.want)
		}
	}
	if _, err := convert.LoRAFile(context.Background(), filepath.Join(testenv.TestData(t), "lora", "chatglm-6b-tiny"), base3,
		filepath.Join(t.TempDir(), "x.gguf"), convert.Options{}); err == nil || !strings.Contains(err.Error(), "not in the base model") {
		t.Errorf("a ChatGLM-6B adapter for a ChatGLM3 base: %v", err)
	}
}

// writeStackedAdapter writes a PEFT adapter for the GLM-4-0414 fixture that adapts q_proj, k_proj and
// v_proj (stacked into one GGUF QKV) and o_proj of every layer, with seeded random A and B.
func writeStackedAdapter(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	const r, hidden, layers = 4, 48, 2
	outs := map[string]int64{"q_proj": 48, "k_proj": 24, "v_proj": 24, "o_proj": 48}
	ins := map[string]int64{"q_proj": hidden, "k_proj": hidden, "v_proj": hidden, "o_proj": 48}
	rng := rand.New(rand.NewPCG(7, 9))
	var ts []hfwrite.Tensor
	f32 := func(n int64, std float64) []byte {
		b := make([]byte, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64()*std)))
		}
		return b
	}
	for l := range layers {
		for _, mod := range []string{"q_proj", "k_proj", "v_proj", "o_proj"} {
			name := fmt.Sprintf("base_model.model.model.layers.%d.self_attn.%s", l, mod)
			ts = append(ts, hfwrite.Tensor{Name: name + ".lora_A.weight", DType: "F32", Shape: []int64{r, ins[mod]}, Fill: hfwrite.Data(f32(r*ins[mod], 0.15))},
				hfwrite.Tensor{Name: name + ".lora_B.weight", DType: "F32", Shape: []int64{outs[mod], r}, Fill: hfwrite.Data(f32(outs[mod]*r, 0.05))})
		}
	}
	if err := hfwrite.WriteSafetensors(filepath.Join(dir, "adapter_model.safetensors"), ts); err != nil {
		t.Fatal(err)
	}
	cfg := `{"peft_type":"LORA","r":4,"lora_alpha":8,"target_modules":["v_proj","q_proj","o_proj","k_proj"],"bias":"none","fan_in_fan_out":false,"use_dora":false}`
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStackedLoRA: an adapter of the separate q, k and v projections of a transformers GLM gives the same
// logits (within 1e-5) merged at conversion and applied at run time through the stacked GGUF adapter, and
// moves them away from the base model's.
func TestStackedLoRA(t *testing.T) {
	ad := writeStackedAdapter(t)
	const name = "glm-4-9b-0414-tiny"
	base := convertWith(t, name, convert.Options{OutType: "f32"})
	merged := convertWith(t, name, convert.Options{OutType: "f32", LoRA: ad})
	lora := filepath.Join(t.TempDir(), "a.gguf")
	if _, err := convert.LoRAFile(context.Background(), ad, base, lora, convert.Options{}); err != nil {
		t.Fatal(err)
	}
	prompt := []int32{151331, 151333, 151336, 198, 109377, 3837, 98964, 151337}
	logits := func(path string, loras []LoRA) []float32 {
		m, err := Load(path, Options{Threads: 2, LoRA: loras})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s, _ := m.NewSession(64, KVF32)
		rows, err := s.Eval(prompt, false)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(rows[0])
	}
	want, got, plain := logits(merged, nil), logits(base, []LoRA{{Path: lora, Scale: 1}}), logits(base, nil)
	var worst, moved float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		moved = math.Max(moved, math.Abs(float64(plain[i]-want[i])))
	}
	if worst > 1e-5 || moved < 1e-2 {
		t.Errorf("runtime vs merged: max |Δ| = %.3g (want ≤ 1e-5); the adapter moves the logits by %.3g (want ≥ 1e-2)", worst, moved)
	}
}
