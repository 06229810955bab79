package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/glmtool/glmtool/internal/testenv"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestInfoText(t *testing.T) {
	path := testenv.Path(t, "gguf", "chatglm3-tiny-Q4_K_M.gguf")
	code, out, stderr := runCLI(t, "info", "--tensors", path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"architecture:  chatglm", "name:          chatglm3-tiny", "parameters:    886.78 K (886784)",
		"file type:     Q4_K_M", "tensors:       17 (F32×7, Q4_K×6, Q5_K×2, Q6_K×2)",
		"block_count                                2", "model          llama, pre-tokenizer chatglm-spm",
		"vocabulary     320 tokens", `eos            2 "<eos>"`, "metadata (25 keys)",
		`["<unk>", "<bos>", `, `... (320 total)]`,
		"blk.1.ffn_down.weight", "[256, 256]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "<0x07>") {
		t.Error("the token array was dumped whole; it must be summarised by default")
	}
	if line := widestLine(out); utf8.RuneCountInString(line) > 100 {
		t.Errorf("a line of %d columns, want at most 100: %s", utf8.RuneCountInString(line), line)
	}
	// Piped output is plain columns, no box drawing; --wide shows longer values.
	if strings.ContainsAny(out, "│┌─") {
		t.Error("piped output has box-drawing characters")
	}
	_, wide, _ := runCLI(t, "info", "--wide", path)
	if !strings.Contains(wide, `["<unk>", "<bos>", "<eos>", "<0x00>", "<0x01>", "<0x02>", ... (320 total)]`) {
		t.Errorf("--wide does not show the longer summary:\n%s", wide)
	}
}

func widestLine(s string) string {
	widest := ""
	for _, l := range strings.Split(s, "\n") {
		if utf8.RuneCountInString(l) > utf8.RuneCountInString(widest) {
			widest = l
		}
	}
	return widest
}

func TestInfoJSON(t *testing.T) {
	path := testenv.Path(t, "gguf", "glm4-tiny-bpe-Q8_0.gguf")
	code, out, stderr := runCLI(t, "info", "--json", path)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var s struct {
		Architecture  string                `json:"architecture"`
		Parameters    int64                 `json:"parameters"`
		BitsPerWeight float64               `json:"bits_per_weight"`
		FileType      struct{ Name string } `json:"file_type"`
		TensorTypes   map[string]int        `json:"tensor_types"`
		Tokenizer     struct {
			Model      string         `json:"model"`
			Pre        string         `json:"pre"`
			VocabSize  int            `json:"vocab_size"`
			Merges     int            `json:"merges"`
			SpecialIDs map[string]int `json:"special_ids"`
		} `json:"tokenizer"`
		Metadata []struct {
			Key   string `json:"key"`
			Len   *int   `json:"len"`
			Value any    `json:"value"`
		} `json:"metadata"`
		Tensors []struct {
			Name  string  `json:"name"`
			Shape []int64 `json:"shape"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if s.Architecture != "chatglm" || s.FileType.Name != "Q8_0" || s.TensorTypes["Q8_0"] != 10 || s.TensorTypes["F32"] != 7 {
		t.Errorf("summary = %+v", s)
	}
	if s.Tokenizer.Model != "gpt2" || s.Tokenizer.Pre != "chatglm-bpe" || s.Tokenizer.VocabSize != 400 || s.Tokenizer.Merges == 0 {
		t.Errorf("tokenizer = %+v", s.Tokenizer)
	}
	if len(s.Tensors) != 17 {
		t.Errorf("%d tensors in JSON, want 17", len(s.Tensors))
	}
	for _, m := range s.Metadata {
		if m.Key == "tokenizer.ggml.tokens" {
			if m.Len == nil || *m.Len != 400 || len(m.Value.([]any)) != arrayHead {
				t.Errorf("tokens entry = len %v, %d values; want len 400 and %d values", m.Len, len(m.Value.([]any)), arrayHead)
			}
		}
	}
	if s.BitsPerWeight < 8 || s.BitsPerWeight > 9.5 {
		t.Errorf("bits per weight %.2f, want between 8 and 9.5 for a Q8_0 file", s.BitsPerWeight)
	}
}

func TestExitCodes(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.gguf")
	writeFile(t, bad, []byte("GGML not a gguf file at all......"))
	cases := []struct {
		args    []string
		code    int
		message string
	}{
		{[]string{"info"}, ExitUsage, "want 1 argument(s), got 0"},
		{[]string{"info", "--no-such-flag", "x"}, ExitUsage, "unknown flag: --no-such-flag"},
		{[]string{"info", filepath.Join(t.TempDir(), "missing.gguf")}, ExitFailure, "no such file or directory"},
		{[]string{"info", bad}, ExitFailure, `offset 0: magic: got "GGML", want "GGUF": not a GGUF file`},
		{[]string{"--version"}, ExitOK, ""},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.message) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d with %q", c.args, code, stderr, c.code, c.message)
		}
	}
}
