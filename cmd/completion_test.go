package cmd

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
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
		{[]string{"serve", "--device", ""}, []string{"cpu", "cuda", "auto"}},
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

// TestSharedModelFlags: every command that loads one model has the same loading flags with the same help
// (only what --ctx sizes is said per command), and run and chat the same sampling flags.
func TestSharedModelFlags(t *testing.T) {
	a := &app{}
	root := a.rootCommand()
	find := func(name string) *cobra.Command {
		for _, c := range root.Commands() {
			if c.Name() == name {
				return c
			}
		}
		t.Fatalf("no %s command", name)
		return nil
	}
	load := []string{"model", "threads", "kv-type", "device", "mmap", "ctx"}
	sampling := []string{"temp", "top-k", "top-p", "min-p", "repeat-penalty", "seed", "max-tokens"}
	ref := find("run")
	for _, name := range []string{"chat", "serve", "perplexity"} {
		c := find(name)
		for _, fl := range load {
			want, got := ref.Flags().Lookup(fl), c.Flags().Lookup(fl)
			if got == nil {
				t.Errorf("%s has no --%s", name, fl)
				continue
			}
			if fl != "ctx" && (got.Usage != want.Usage || got.DefValue != want.DefValue || got.Shorthand != want.Shorthand) {
				t.Errorf("%s --%s: %q (default %q), run has %q (default %q)", name, fl, got.Usage, got.DefValue, want.Usage, want.DefValue)
			}
		}
	}
	for _, fl := range sampling {
		if got, want := find("chat").Flags().Lookup(fl), ref.Flags().Lookup(fl); got == nil || got.Usage != want.Usage {
			t.Errorf("chat --%s differs from run's", fl)
		}
	}
}
