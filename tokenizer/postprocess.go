package tokenizer

import (
	"strings"
	"unicode"

	"github.com/glmtool/glmtool/arch"
)

// PostProcessor applies PostProcess to a reply while it streams: a character is held back until the next
// one shows whether it neighbours an ideograph, and trailing whitespace until more text arrives.
type PostProcessor struct {
	fam     arch.Family
	pending []rune
	started bool
	prev    rune
}

// NewPostProcessor starts a stream for family fam (a pass-through for ChatGLM3 and GLM-4).
func NewPostProcessor(fam arch.Family) *PostProcessor { return &PostProcessor{fam: fam} }

func (p *PostProcessor) active() bool {
	return p.fam == arch.FamilyChatGLM1 || p.fam == arch.FamilyChatGLM2
}

// Write adds text and returns what can be shown now.
func (p *PostProcessor) Write(s string) string {
	if !p.active() {
		return s
	}
	if !p.started {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if s == "" {
			return ""
		}
		p.started = true
	}
	p.pending = append(p.pending, []rune(s)...)
	// Keep the last character, and any whitespace run before it, for later.
	keep := len(p.pending) - 1
	for keep > 0 && unicode.IsSpace(p.pending[keep-1]) && unicode.IsSpace(p.pending[keep]) {
		keep--
	}
	if unicode.IsSpace(p.pending[len(p.pending)-1]) {
		for keep > 0 && unicode.IsSpace(p.pending[keep-1]) {
			keep--
		}
	}
	return p.emit(keep)
}

// Flush returns the rest, with trailing whitespace trimmed as the reference does.
func (p *PostProcessor) Flush() string {
	if !p.active() {
		return ""
	}
	p.pending = []rune(strings.TrimRightFunc(string(p.pending), unicode.IsSpace))
	return p.emit(len(p.pending))
}

func (p *PostProcessor) emit(n int) string {
	full := map[rune]rune{',': '，', '!': '！', ':': '：', ';': '；', '?': '？'}
	cjk := func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }
	out := make([]rune, 0, n)
	for i := range n {
		r := p.pending[i]
		if f, ok := full[r]; ok {
			next := rune(0)
			if i+1 < len(p.pending) {
				next = p.pending[i+1]
			}
			if cjk(p.prev) || cjk(next) {
				r = f
			}
		}
		out = append(out, r)
		p.prev = p.pending[i]
	}
	p.pending = p.pending[n:]
	return string(out)
}
