package cmd

import (
	"encoding/json"
	"io"
)

// writeJSON is every command's --json output: indented for people, with <, > and & left as they are
// (special tokens such as <|user|> stay readable). compact writes one line instead, for run --json and
// bench -o jsonl, whose readers take a line per object.
func writeJSON(w io.Writer, v any, compact bool) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if !compact {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}
