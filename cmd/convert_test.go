package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

func TestConvertCommand(t *testing.T) {
	dir := filepath.Join(testenv.TestData(t), "hf", "chatglm3-6b-tiny")
	out := filepath.Join(t.TempDir(), "c3.gguf")
	code, stdout, stderr := runCLI(t, "convert", dir, "-o", out, "--outtype", "q8_0", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Family   string `json:"family"`
		FileType string `json:"file_type"`
		Layers   int    `json:"layers"`
		Tensors  int    `json:"tensors"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if rep.Family != "chatglm3" || rep.FileType != "Q8_0" || rep.Layers != 3 || rep.Tensors != 24 {
		t.Errorf("report %+v", rep)
	}
	code, stdout, _ = runCLI(t, "info", out)
	if code != ExitOK || !strings.Contains(stdout, "file type:     Q8_0") || !strings.Contains(stdout, "glmtool.family") {
		t.Errorf("info on the converted file: exit %d\n%s", code, stdout)
	}

	syn := filepath.Join(t.TempDir(), "syn.gguf")
	code, stdout, stderr = runCLI(t, "convert", "--synthetic", "glm4-9b", "--vocab-only", "-o", syn)
	if code != ExitOK || !strings.Contains(stdout, "glm4") || !strings.Contains(stdout, "151552") {
		t.Errorf("synthetic: exit %d %s %s", code, stdout, stderr)
	}
}

func TestConvertCommandErrors(t *testing.T) {
	dir := filepath.Join(testenv.TestData(t), "hf", "chatglm3-6b-tiny")
	tmp := t.TempDir()
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"convert", dir}, ExitUsage, "give the output file with -o OUT.gguf"},
		{[]string{"convert", "--outtype", "q3_k", dir, "-o", filepath.Join(tmp, "x.gguf")}, ExitUsage, "Q3_K_M is a llama.cpp type glmtool does not write"},
		{[]string{"convert", "--synthetic", "llama-7b", "-o", filepath.Join(tmp, "x.gguf")}, ExitFailure, `unknown synthetic preset "llama-7b"`},
		{[]string{"convert", tmp, "-o", filepath.Join(tmp, "x.gguf")}, ExitFailure, "config.json"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want %d with %q", c.args, code, stderr, c.code, c.msg)
		}
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("failed runs left %d files", len(entries))
	}
}
