package cmd

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestFineTunesThroughTheBinary: every P-Tuning v2 checkpoint converted with --ptuning, and a LoRA adapter
// converted with --base and applied with --lora, reproduce their goldens through run --prompt-ids (logits
// within 1e-4, greedy ids equal); --lora FILE:0 gives the base model's ids; info names both.
func TestFineTunesThroughTheBinary(t *testing.T) {
	bin := buildBinary(t)
	td := testenv.TestData(t)
	dir := t.TempDir()
	golden := func(gdir string) ([]string, []int32) {
		g := readGoldenIDs(t, gdir)
		ids := make([]string, len(g.PromptIDs))
		for i, id := range g.PromptIDs {
			ids[i] = jsonInt(int(id))
		}
		return ids, g.Generation.GreedyIDs
	}
	check := func(label, gdir string, args ...string) []int32 {
		t.Helper()
		ids, greedy := golden(gdir)
		logits := filepath.Join(dir, label+".safetensors")
		args = append(args, "--prompt-ids", strings.Join(ids, ","), "--temp", "0", "-n", "9", "--ignore-eos", "--kv-type", "f32",
			"--json", "--logits-out", logits, "-t", "2")
		code, stdout, stderr := execCLI(t, bin, nil, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", label, code, stderr)
		}
		var res struct {
			GeneratedIDs []int32 `json:"generated_ids"`
		}
		if err := json.Unmarshal([]byte(stdout), &res); err != nil {
			t.Fatalf("%s: %v\n%s", label, err, stdout)
		}
		if gdir != "" && !slices.Equal(res.GeneratedIDs, greedy) {
			t.Errorf("%s: generated %v, want %v", label, res.GeneratedIDs, greedy)
		}
		got, _ := readF32Tensor(t, logits, "logits")
		want, _ := readF32Tensor(t, filepath.Join(gdir, "golden.safetensors"), "logits")
		var worst float64
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-4 {
			t.Errorf("%s: max |Δ logits| = %.3g, want ≤ 1e-4", label, worst)
		}
		return res.GeneratedIDs
	}

	for _, name := range []string{"chatglm-6b-tiny", "chatglm2-6b-tiny", "chatglm3-6b-tiny"} {
		pt := filepath.Join(dir, name+"-pt.gguf")
		if code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(td, "hf", name), "--ptuning",
			filepath.Join(td, "ptuning", name), "--outtype", "f32", "-o", pt); code != 0 {
			t.Fatalf("convert --ptuning %s: %s", name, stderr)
		}
		check("ptuning-"+name, filepath.Join(td, "ptuning", name), "run", "-m", pt)
		if _, out, _ := execCLI(t, bin, nil, "info", pt); !strings.Contains(out, "P-Tuning v2 prefix of 8 slots") {
			t.Errorf("info of a P-Tuning model:\n%s", out)
		}
	}

	base := filepath.Join(dir, "base.gguf")
	adapter := filepath.Join(dir, "adapter.gguf")
	if code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(td, "hf", "glm-4-9b-chat-tiny"), "--outtype", "f32", "-o", base); code != 0 {
		t.Fatalf("convert base: %s", stderr)
	}
	if code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(td, "lora", "glm-4-9b-chat-tiny"), "--base", base, "-o", adapter); code != 0 {
		t.Fatalf("convert adapter: %s", stderr)
	}
	check("lora", filepath.Join(td, "lora", "glm-4-9b-chat-tiny"), "run", "-m", base, "--lora", adapter)
	if _, out, _ := execCLI(t, bin, nil, "info", adapter); !strings.Contains(out, "lora: 8 weights of rank 8, alpha 32") {
		t.Errorf("info of an adapter:\n%s", out)
	}
	// Scale 0 is the base model: the base golden's greedy ids.
	check("lora0", filepath.Join(td, "hf", "glm-4-9b-chat-tiny"), "run", "-m", base, "--lora", adapter+":0")
	for _, c := range []struct{ arg, want string }{{adapter + ":nan", "out of range"}, {base, "not \"adapter\""}} {
		code, _, stderr := execCLI(t, bin, nil, "run", "-m", base, "--lora", c.arg, "--prompt-ids", "1,2", "-n", "1")
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("--lora %s: exit %d, %q; want an error mentioning %q", filepath.Base(c.arg), code, stderr, c.want)
		}
	}
	if code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(td, "lora", "glm-4-9b-chat-tiny"), "-o", filepath.Join(dir, "x.gguf")); code != ExitUsage || !strings.Contains(stderr, "--base") {
		t.Errorf("an adapter folder without --base: exit %d, %q", code, stderr)
	}
}
