package tokenizer

import (
	"fmt"
	"regexp"
	"strings"
)

// spaceRun matches the runs of 2 to 80 spaces ChatGLM-6B encodes as <|blank_N|> (spec §4.1).
var spaceRun = regexp.MustCompile(` {2,80}`)

// v1Preprocess applies ChatGLM-6B's text rules before SentencePiece: \n → <n>, \t → <|tab|>, runs of
// spaces → <|blank_N|>.
func v1Preprocess(text string) string {
	text = strings.ReplaceAll(text, "\n", "<n>")
	text = strings.ReplaceAll(text, "\t", "<|tab|>")
	return spaceRun.ReplaceAllStringFunc(text, func(s string) string { return fmt.Sprintf("<|blank_%d|>", len(s)) })
}

// v1Special is the text a ChatGLM-6B formatting token stands for.
func v1Special(tok string) (string, bool) {
	switch tok {
	case "<n>":
		return "\n", true
	case "<|tab|>":
		return "\t", true
	}
	var n int
	if _, err := fmt.Sscanf(tok, "<|blank_%d|>", &n); err == nil && n >= 2 && n <= 80 && tok == fmt.Sprintf("<|blank_%d|>", n) {
		return strings.Repeat(" ", n), true
	}
	return "", false
}
