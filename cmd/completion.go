package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/quantize"
)

// addCompletions teaches the shell completion (glmtool completion bash|zsh|fish|powershell) the values of
// every flag that has a fixed set, and to offer .gguf files where a model is expected.
func addCompletions(root *cobra.Command) {
	words := func(list string) []string { return strings.Split(list, ", ") }
	fixed := map[string][]string{
		"type":      words(quantize.TargetNames()),
		"outtype":   words(quantize.TargetNames()),
		"synthetic": words(convert.PresetNames()),
		"device":    {"cpu", "cuda", "auto"},
		"kv-type":   {"f16", "f32"},
		"family":    {"chatglm", "chatglm2", "chatglm3", "glm4"},
	}
	gguf := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"gguf"}, cobra.ShellCompDirectiveFilterFileExt
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			var fn cobra.CompletionFunc
			switch {
			case f.Name == "model":
				fn = gguf
			case f.Name == "output" && c.Name() == "bench":
				fn = cobra.FixedCompletions([]string{"table", "md", "csv", "json", "jsonl"}, cobra.ShellCompDirectiveNoFileComp)
			case fixed[f.Name] != nil:
				fn = cobra.FixedCompletions(fixed[f.Name], cobra.ShellCompDirectiveNoFileComp)
			default:
				return
			}
			_ = c.RegisterFlagCompletionFunc(f.Name, fn)
		})
		switch c.Name() {
		case "info", "quantize":
			c.ValidArgsFunction = gguf
		case "convert":
			c.ValidArgsFunction = func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return nil, cobra.ShellCompDirectiveFilterDirs // a Hugging Face model folder
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
