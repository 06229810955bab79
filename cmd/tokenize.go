package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tokenizer"
)

func (a *app) tokenizeCommand() *cobra.Command {
	var model string
	var asJSON, specials bool
	c := &cobra.Command{
		Use:   "tokenize -m MODEL.gguf TEXT",
		Short: "Show the token ids and pieces of a text",
		Long: `Encode TEXT with the model's tokenizer and print one line per token: its id and the text it stands
for (quoted; bytes of a character split across tokens appear as \xNN escapes; special tokens as their
name). --json adds each token's raw stored piece (GLM-4's byte-level "ä½ł", SentencePiece's "▁"). The text is
encoded plainly; --specials adds the model's prefix tokens ([gMASK] sop ...) as its encode() does.`,
		Example: `  glmtool tokenize -m chatglm3-6b.gguf "你好，世界"
  glmtool tokenize -m glm4.gguf --json "hello world"`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return usagef("give the model with -m FILE.gguf")
			}
			f, err := gguf.Open(model)
			if err != nil {
				return err
			}
			defer f.Close()
			p, err := arch.ReadParams(f)
			if err != nil {
				return fmt.Errorf("%s: %w", model, err)
			}
			if !f.Meta.Has(arch.KeyTokens) {
				return errNoTokenizer(model, "tokenize text")
			}
			tok, err := tokenizer.FromMetadata(f.Meta, p.Family)
			if err != nil {
				return fmt.Errorf("%s: %w", model, err)
			}
			ids := tok.Encode(args[0])
			if specials {
				if ids, err = tok.EncodeWithSpecials(args[0]); err != nil {
					return err
				}
			}
			if asJSON {
				type entry struct {
					ID    int32  `json:"id"`
					Text  string `json:"text"`  // the decoded text (invalid UTF-8 replaced by U+FFFD)
					Piece string `json:"piece"` // the stored vocabulary entry
				}
				out := []entry{}
				for _, id := range ids {
					out = append(out, entry{id, strings.ToValidUTF8(string(tok.Text(id)), "\uFFFD"), tok.Piece(id)})
				}
				return writeJSON(a.stdout, out, true)
			}
			for _, id := range ids {
				fmt.Fprintf(a.stdout, "%6d  %s\n", id, tokenText(tok, id))
			}
			fmt.Fprintf(a.stdout, "%d tokens\n", len(ids))
			return nil
		},
	}
	c.Flags().StringVarP(&model, "model", "m", "", "GGUF model file (required)")
	c.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {id, piece}")
	c.Flags().BoolVar(&specials, "specials", false, "add the model's prefix/suffix special tokens")
	return c
}

// tokenText shows what a token stands for: its decoded text quoted (Go's %q keeps printable characters and
// escapes the bytes of a partial character as \xNN), or a special token's name.
func tokenText(tok *tokenizer.Tokenizer, id int32) string {
	if b := tok.Text(id); len(b) > 0 || !tok.IsControl(id) {
		return fmt.Sprintf("%q", b)
	}
	return tok.Piece(id)
}
