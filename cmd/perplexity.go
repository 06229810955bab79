package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/bench"
)

func (a *app) perplexityCommand() *cobra.Command {
	var lf loadFlags
	var file, save, base string
	var asJSON bool
	c := &cobra.Command{
		Use:   "perplexity -m MODEL.gguf -f TEXT.txt",
		Short: "Perplexity of a text, and KL divergence against a reference run's saved log-probs",
		Long: `Evaluate a text in chunks of --ctx tokens (each from an empty cache) and score the second half of
every chunk, as llama-perplexity does. --save-logits keeps the log-probs of the scored positions; a later run
with --kl-base compares against them: mean and max KL divergence KL(base ‖ this) and top-1 agreement. Run
the F16 file with --save-logits and each quantized file with --kl-base to see what a type costs in quality;
this works on synthetic weights too.`,
		Example: `  glmtool perplexity -m model-f16.gguf -f text.txt --save-logits f16.safetensors
  glmtool perplexity -m model-q4_0.gguf -f text.txt --kl-base f16.safetensors`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usagef("give the text with -f TEXT.txt")
			}
			if err := lf.validate(); err != nil {
				return err
			}
			text, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			m, kv, err := lf.load()
			if err != nil {
				return err
			}
			model := lf.model
			defer m.Close()
			if m.Tok == nil {
				return errNoTokenizer(model, "read a text file")
			}
			var baseLPs [][][]float32
			if base != "" {
				if baseLPs, err = bench.LoadLogprobs(base); err != nil {
					return err
				}
			}
			n := lf.context(m, 512)
			res, lps, err := bench.Perplexity(cmd.Context(), m, m.Tok.Encode(string(text)), n, kv)
			if err != nil {
				return err
			}
			if baseLPs != nil {
				if err := bench.CompareKL(res, lps, baseLPs); err != nil {
					return fmt.Errorf("--kl-base %s: %w", base, err)
				}
			}
			if save != "" {
				if err := bench.SaveLogprobs(cmd.Context(), save, lps); err != nil {
					return err
				}
			}
			if asJSON {
				return writeJSON(a.stdout, res, false)
			}
			fmt.Fprintf(a.stdout, "%s: %d tokens, %d chunks of %d, %d scored positions\nperplexity: %.4f\n", model, res.Tokens, res.Chunks, res.Ctx, res.Scored, res.Perplexity)
			if res.MeanKL != nil {
				fmt.Fprintf(a.stdout, "KL divergence vs %s: mean %.6f, max %.6f; top-1 agreement %.1f %%\n", base, *res.MeanKL, *res.MaxKL, 100**res.Top1Agree)
			}
			return nil
		},
	}
	lf.register(c, "chunk length in tokens, at least 1 (default: the smaller of 512 and the model's maximum)")
	f := c.Flags()
	f.StringVarP(&file, "file", "f", "", "text file (required)")
	f.StringVar(&save, "save-logits", "", "save the scored log-probs to FILE.safetensors")
	f.StringVar(&base, "kl-base", "", "compare with log-probs saved by --save-logits")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}
