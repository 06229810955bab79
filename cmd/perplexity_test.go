package cmd

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestPerplexityKL: on the same synthetic model and text, Q8_0 is closer to F16 than Q4_0 is — the check
// that the quality tool measures something real. The files are llama.cpp's quantizations of one random
// model; the text is the one llama-perplexity was run on.
func TestPerplexityKL(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "text.txt"))
	text := filepath.Join(dir, "text.txt")
	base := filepath.Join(t.TempDir(), "f16.safetensors")
	run := func(model string, extra ...string) map[string]float64 {
		args := append([]string{"perplexity", "-m", filepath.Join(dir, model), "-f", text, "--ctx", "64", "--json", "-t", "2"}, extra...)
		code, out, stderr := runCLI(t, args...)
		if code != ExitOK {
			t.Fatalf("%s: exit %d: %s", model, code, stderr)
		}
		var r map[string]float64
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: %v\n%s", model, err, out)
		}
		return r
	}
	f16 := run("chatglm3-tiny-f16.gguf", "--save-logits", base)
	if f16["perplexity"] < 1 || f16["chunks"] < 2 {
		t.Fatalf("f16 run %v", f16)
	}
	q8 := run("chatglm3-tiny-Q8_0.gguf", "--kl-base", base)
	q4 := run("chatglm3-tiny-Q4_0.gguf", "--kl-base", base)
	self := run("chatglm3-tiny-f16.gguf", "--kl-base", base)
	t.Logf("PPL f16 %.1f q8 %.1f q4 %.1f; KL q8 %.3g q4 %.3g self %.3g", f16["perplexity"], q8["perplexity"], q4["perplexity"], q8["mean_kl"], q4["mean_kl"], self["mean_kl"])
	if !(q8["mean_kl"] < q4["mean_kl"]) || q8["mean_kl"] <= 0 {
		t.Errorf("KL(Q8_0) = %g, KL(Q4_0) = %g: Q8_0 must be closer to F16", q8["mean_kl"], q4["mean_kl"])
	}
	if self["mean_kl"] > 1e-9 || self["top1_agreement"] != 1 {
		t.Errorf("the F16 file against its own log-probs: KL %g, top-1 %g", self["mean_kl"], self["top1_agreement"])
	}
}
