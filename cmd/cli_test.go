package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/internal/testenv"
)

// execCLI runs the built binary and returns its exit code and output.
func execCLI(t *testing.T, bin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// idModel writes a small random-weight model without a tokenizer (driven by --prompt-ids) that takes a
// few seconds to fill its 8192-token context: long enough to be interrupted mid-generation.
func idModel(t *testing.T, embedding int) string {
	t.Helper()
	p := arch.Params{Family: arch.FamilyChatGLM3, ContextLength: 8192, Embedding: embedding, FeedForward: 4 * embedding, Blocks: 4,
		Heads: 8, HeadsKV: 2, NormEpsilon: 1e-5, RopeDims: embedding / 16, RopeFreqBase: 10000, Vocab: 2048}
	path := filepath.Join(t.TempDir(), "ids.gguf")
	if _, err := convert.SyntheticShape(context.Background(), path, p, convert.SyntheticOptions{NoVocab: true,
		Options: convert.Options{OutType: "f16", Threads: 2}}); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIUsageErrors: values outside their ranges, an unknown command and a bad GLMTOOL_KERNELS exit 2
// with a message naming the flag (or variable) and what it accepts, before any model is loaded.
func TestCLIUsageErrors(t *testing.T) {
	bin := buildBinary(t)
	model := convertF32(t, "chatglm3-6b-tiny")
	run := func(extra ...string) []string {
		return append([]string{"run", "-m", model, "--prompt", "hi"}, extra...)
	}
	cases := []struct {
		env  []string
		args []string
		msg  string
	}{
		{nil, []string{"bogus"}, `unknown command "bogus"`},
		{nil, run("-n", "0"), "--max-tokens 0: want 1 or more, or -1"},
		{nil, run("-n", "-5"), "--max-tokens -5: want 1 or more, or -1"},
		{nil, run("--temp", "-2"), "--temp -2: want 0 (greedy) or more"},
		{nil, run("--top-p", "5"), "--top-p 5: want a value in (0, 1]"},
		{nil, run("--top-p", "0"), "--top-p 0: want a value in (0, 1]"},
		{nil, run("--min-p", "1.5"), "--min-p 1.5: want a value in [0, 1]"},
		{nil, run("--top-k", "-1"), "--top-k -1: want 0 (off) or more"},
		{nil, run("--repeat-penalty", "0"), "--repeat-penalty 0: want a value above 0"},
		{nil, run("--ctx", "0"), "--ctx 0: want at least 1 token"},
		{nil, []string{"chat", "-m", model, "-n", "0"}, "--max-tokens 0"},
		{[]string{"GLMTOOL_KERNELS=bogus"}, []string{"info", model}, `GLMTOOL_KERNELS="bogus": want generic (pure Go), avx2 (no AVX-512) or avx512-vnni`},
		{nil, []string{"convert", "--synthetic", "chatglm3-6b", "--layers", "0", "-o", filepath.Join(t.TempDir(), "x.gguf")}, "--layers 0: want 1 or more"},
		{nil, []string{"quantize", "--type", "Q3_K", model, filepath.Join(t.TempDir(), "x.gguf")}, "Q3_K_M is a llama.cpp type glmtool does not write"},
	}
	for _, c := range cases {
		code, _, stderr := execCLI(t, bin, c.env, c.args...)
		if code != ExitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v %v: exit %d, %q; want exit 2 with %q", c.env, c.args, code, stderr, c.msg)
		}
	}
}

// TestCLISeeds: without --seed every run draws a new seed and reports it; --seed N repeats a run exactly.
func TestCLISeeds(t *testing.T) {
	bin := buildBinary(t)
	model := convertF32(t, "glm-4-9b-chat-tiny")
	type result struct {
		Seed uint64  `json:"seed"`
		IDs  []int32 `json:"generated_ids"`
	}
	sample := func(extra ...string) result {
		args := append([]string{"run", "-m", model, "--prompt", "你好", "--temp", "1", "-n", "12", "--ignore-eos", "--json"}, extra...)
		code, stdout, stderr := execCLI(t, bin, nil, args...)
		var r result
		if code != 0 || json.Unmarshal([]byte(stdout), &r) != nil {
			t.Fatalf("%v: exit %d %s", args, code, stderr)
		}
		return r
	}
	a, b := sample(), sample()
	if a.Seed == b.Seed {
		t.Errorf("two runs without --seed both used seed %d", a.Seed)
	}
	c := sample("--seed", "42")
	d := sample("--seed", "42")
	if c.Seed != 42 || d.Seed != 42 || !slices.Equal(c.IDs, d.IDs) {
		t.Errorf("--seed 42 twice: seeds %d, %d, ids %v, %v", c.Seed, d.Seed, c.IDs, d.IDs)
	}
	again := sample("--seed", strconv.FormatUint(a.Seed, 10))
	if !slices.Equal(again.IDs, a.IDs) {
		t.Errorf("repeating the reported seed %d gave %v, first %v", a.Seed, again.IDs, a.IDs)
	}
	code, _, stderr := execCLI(t, bin, nil, "run", "-m", model, "--prompt", "hi", "-n", "2", "--seed", "7", "-v")
	if code != 0 || !strings.Contains(stderr, "seed 7") {
		t.Errorf("-v does not report the seed: %s", stderr)
	}
}

// TestCLIHelpAndVersion: --help shows each family's real sampling defaults once, with no "(default -1)"
// placeholders; --version names the build.
func TestCLIHelpAndVersion(t *testing.T) {
	bin := buildBinary(t)
	_, help, _ := execCLI(t, bin, nil, "run", "--help")
	for _, want := range []string{"default: 0.95 for ChatGLM-6B, 0.8 for ChatGLM2/3 and GLM-4", "default: 0.7 for ChatGLM-6B, 0.8 for ChatGLM2/3 and GLM-4"} {
		if !strings.Contains(help, want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
	for _, line := range strings.Split(help, "\n") {
		if (strings.Contains(line, "--temp") || strings.Contains(line, "--top-p")) && strings.Contains(line, "(default -1)") {
			t.Errorf("doubled default: %s", line)
		}
	}
	code, out, _ := execCLI(t, bin, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "glmtool ") || !strings.Contains(out, "go1.") || !strings.Contains(out, "revision") {
		t.Errorf("--version: %q", out)
	}
}

// TestCLITokenizeShowsText: GLM-4's byte-level pieces are shown as the text they stand for, a character
// split across tokens as \x escapes; --json keeps the raw piece beside the text.
func TestCLITokenizeShowsText(t *testing.T) {
	bin := buildBinary(t)
	model := convertF32(t, "glm-4-9b-chat-tiny")
	code, out, stderr := execCLI(t, bin, nil, "tokenize", "-m", model, "你好 🦙")
	if code != 0 || !strings.Contains(out, `"你好"`) || strings.Contains(out, "ä½") || !strings.Contains(out, `\x`) {
		t.Errorf("tokenize: exit %d %q %s", code, out, stderr)
	}
	_, out, _ = execCLI(t, bin, nil, "tokenize", "-m", model, "--json", "你好")
	var entries []struct{ Text, Piece string }
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 1 || entries[0].Text != "你好" || entries[0].Piece != "ä½łå¥½" {
		t.Errorf("tokenize --json: %q (%v)", out, err)
	}
}

// TestCLIFilesAndConversion: convert warns about a missing tokenizer and every later command says the same
// clear thing; quantize names the tensors that got a fallback type; a tiny non-GGUF file reports its real
// size.
func TestCLIFilesAndConversion(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	v1 := filepath.Join(dir, "v1.gguf")
	code, _, stderr := execCLI(t, bin, nil, "convert", filepath.Join(testenv.TestData(t), "hf", "chatglm-6b-tiny"), "-o", v1)
	if code != 0 || !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "has no tokenizer file (ice_text.model)") {
		t.Errorf("convert without a tokenizer: exit %d, %q", code, stderr)
	}
	for _, args := range [][]string{{"tokenize", "-m", v1, "hi"}, {"run", "-m", v1, "--prompt", "hi"}, {"chat", "-m", v1}} {
		code, _, stderr := execCLI(t, bin, nil, args...)
		if code != ExitFailure || !strings.Contains(stderr, "has no tokenizer (it was converted without one)") {
			t.Errorf("%v: exit %d %q", args, code, stderr)
		}
	}
	// A hidden size of 48 is not a multiple of Q4_0's 32-element blocks.
	p := arch.Params{Family: arch.FamilyChatGLM3, ContextLength: 64, Embedding: 48, FeedForward: 64, Blocks: 1, Heads: 4, HeadsKV: 2,
		NormEpsilon: 1e-5, RopeDims: 4, RopeFreqBase: 10000, Vocab: 64}
	odd := filepath.Join(dir, "odd.gguf")
	if _, err := convert.SyntheticShape(context.Background(), odd, p, convert.SyntheticOptions{NoVocab: true, Options: convert.Options{OutType: "f16"}}); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := execCLI(t, bin, nil, "quantize", "--bits", "4", odd, filepath.Join(dir, "odd-q4.gguf"))
	if code != 0 || !strings.Contains(out, "tensors got a fallback type instead of q4_0") || !strings.Contains(out, "rows of 48") {
		t.Errorf("quantize of rows of 48: exit %d %q %s", code, out, stderr)
	}
	six := filepath.Join(dir, "six.gguf")
	writeFile(t, six, []byte("hello!"))
	if code, _, stderr := execCLI(t, bin, nil, "info", six); code != ExitFailure || !strings.Contains(stderr, "file is 6 bytes") {
		t.Errorf("6-byte file: exit %d %q", code, stderr)
	}
	if code, _, stderr := execCLI(t, bin, nil, "convert", "/nonexistent", "-o", filepath.Join(dir, "x.gguf")); code != ExitFailure ||
		strings.Count(stderr, "/nonexistent") != 1 {
		t.Errorf("convert /nonexistent: exit %d %q, want the path named once", code, stderr)
	}
}
