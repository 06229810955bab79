package cmd

import (
	"strings"
	"testing"
)

// TestShellCompletion asks the completion machinery what the shell asks it (the hidden __complete
// command every generated script calls): flag values come from the real lists, models are .gguf files.
func TestShellCompletion(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"quantize", "--type", ""}, []string{"q4_0", "q4_k_m", "q8_0", ":4"}},
		{[]string{"convert", "--outtype", "q"}, []string{"q4_0", "q6_k"}},
		{[]string{"convert", "--synthetic", ""}, []string{"chatglm3-6b", "glm4-9b", ":4"}},
		{[]string{"bench", "--type", ""}, []string{"q4_0"}},
		{[]string{"bench", "-o", ""}, []string{"table", "jsonl"}},
		{[]string{"serve", "--device", ""}, []string{"cpu"}},
		{[]string{"chat", "--kv-type", ""}, []string{"f16", "f32"}},
		{[]string{"run", "-m", ""}, []string{"gguf", ":8"}}, // :8 is "filter by extension"
		{[]string{"info", ""}, []string{"gguf", ":8"}},
	}
	for _, c := range cases {
		code, out, stderr := runCLI(t, append([]string{"__complete"}, c.args...)...)
		if code != ExitOK {
			t.Errorf("%v: exit %d %s", c.args, code, stderr)
			continue
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, w := range c.want {
			found := false
			for _, l := range lines {
				found = found || l == w
			}
			if !found {
				t.Errorf("%v: completions %q lack %q", c.args, lines, w)
			}
		}
	}
}
