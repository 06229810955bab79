package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

func TestQuantizeCommand(t *testing.T) {
	src := testenv.Path(t, "gguf", "chatglm3-tiny-f32.gguf")
	want, err := os.ReadFile(testenv.Path(t, "gguf", "chatglm3-tiny-Q4_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "q4.gguf")
	code, stdout, stderr := runCLI(t, "quantize", "--bits", "4", "--threads", "2", src, out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, s := range []string{"Q4_0", "Q6_K", "total", "wrote " + out + " (Q4_0)"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("report lacks %q:\n%s", s, stdout)
		}
	}
	got, _ := os.ReadFile(out)
	if string(got) != string(want) {
		t.Error("glmtool quantize --bits 4 differs from llama-quantize's Q4_0 file")
	}

	jsonOut := filepath.Join(t.TempDir(), "q8.gguf")
	code, stdout, stderr = runCLI(t, "quantize", "--type", "q8_0", "--stats", "--json", src, jsonOut)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Type     string `json:"type"`
		FileType int    `json:"file_type"`
		OutBytes int64  `json:"out_bytes"`
		Tensors  []struct {
			Name string   `json:"name"`
			To   string   `json:"to"`
			RMSE *float64 `json:"rmse"`
		} `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if rep.Type != "q8_0" || rep.FileType != 7 || len(rep.Tensors) != 17 || rep.Tensors[0].Name != "output.weight" || rep.Tensors[0].RMSE == nil {
		t.Errorf("report = %+v", rep)
	}
}

func TestQuantizeCommandErrors(t *testing.T) {
	src := testenv.Path(t, "gguf", "chatglm3-tiny-f32.gguf")
	dir := t.TempDir()
	notGGUF := filepath.Join(dir, "model.safetensors")
	writeFile(t, notGGUF, []byte("this is not a gguf file, it is something else"))
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"quantize", src, filepath.Join(dir, "o.gguf")}, ExitUsage, "choose a target with --bits 4|8 or --type"},
		{[]string{"quantize", "--bits", "5", src, filepath.Join(dir, "o.gguf")}, ExitUsage, "--bits 5: want 4 or 8"},
		{[]string{"quantize", "--bits", "4", "--type", "q8_0", src, filepath.Join(dir, "o.gguf")}, ExitUsage, "give --bits or --type, not both"},
		{[]string{"quantize", "--type", "q9_9", src, filepath.Join(dir, "o.gguf")}, ExitUsage, `unknown quantization type "q9_9"`},
		{[]string{"quantize", "--bits", "4", "--output-type", "iq2_xxs", src, filepath.Join(dir, "o.gguf")}, ExitUsage, `--output-type "iq2_xxs": not a type glmtool can write`},
		{[]string{"quantize", "--bits", "4", src, src}, ExitFailure, "is the input file"},
		{[]string{"quantize", "--bits", "4", notGGUF, filepath.Join(dir, "o.gguf")}, ExitFailure, `not a GGUF file`},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want %d with %q", c.args[1:], code, stderr, c.code, c.msg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("failed runs left %d files in the output directory, want only the input", len(entries))
	}
}
