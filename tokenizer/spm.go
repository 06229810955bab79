package tokenizer

import (
	"container/heap"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/glmtool/glmtool/arch"
)

// spaceMark is SentencePiece's visible space, U+2581.
const spaceMark = "▁"

// spmModel is SentencePiece's BPE encoder (bpe_model.cc): the normalized text is split into characters
// (user-defined pieces are kept whole), then the adjacent pair whose merge is a piece with the highest
// score is merged, leftmost first on ties, until no merge applies; leftover characters fall back to
// <0xXX> byte pieces.
type spmModel struct {
	pieces      map[string]int32 // NORMAL, USER_DEFINED and UNUSED pieces: what merges may produce
	scores      []float32
	userDefined []string // matched greedily (longest first) before merging
	byteIDs     [256]int32
	unk         int32
}

func newSPM(tokens []string, scores []float32, types []int32) *spmModel {
	m := &spmModel{pieces: make(map[string]int32, len(tokens)), scores: scores}
	for b := range m.byteIDs {
		m.byteIDs[b] = -1
	}
	for i, tok := range tokens {
		switch types[i] {
		case arch.TokenNormal, arch.TokenUnused:
			m.pieces[tok] = int32(i)
		case arch.TokenUserDefined:
			m.pieces[tok] = int32(i)
			m.userDefined = append(m.userDefined, tok)
		case arch.TokenByte:
			var b int
			if _, err := fmt.Sscanf(tok, "<0x%02X>", &b); err == nil && b < 256 {
				m.byteIDs[b] = int32(i)
			}
		case arch.TokenUnknown:
			m.unk = int32(i)
		}
	}
	return m
}

type spmSymbol struct {
	start, end int // byte range in the normalized text
	prev, next int
	frozen     bool
}

type spmPair struct {
	left, right int
	score       float32
	size        int
}

type spmAgenda []spmPair

func (a spmAgenda) Len() int { return len(a) }
func (a spmAgenda) Less(i, j int) bool {
	if a[i].score != a[j].score {
		return a[i].score > a[j].score
	}
	return a[i].left < a[j].left
}
func (a spmAgenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *spmAgenda) Push(x any)   { *a = append(*a, x.(spmPair)) }
func (a *spmAgenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

func (m *spmModel) encode(text string) []int32 {
	if text == "" {
		return nil
	}
	// Normalization of ChatGLM's models: identity, dummy prefix, spaces shown as ▁, no whitespace folding.
	norm := spaceMark + strings.ReplaceAll(text, " ", spaceMark)
	var syms []spmSymbol
	for pos := 0; pos < len(norm); {
		n, frozen := m.prefixMatch(norm[pos:])
		syms = append(syms, spmSymbol{start: pos, end: pos + n, prev: len(syms) - 1, next: len(syms) + 1, frozen: frozen})
		pos += n
	}
	syms[len(syms)-1].next = -1
	agenda := &spmAgenda{}
	tryPair := func(l, r int) {
		if l < 0 || r < 0 || syms[l].frozen || syms[r].frozen {
			return
		}
		piece := norm[syms[l].start:syms[r].end]
		if id, ok := m.pieces[piece]; ok {
			heap.Push(agenda, spmPair{left: l, right: r, score: m.scores[id], size: len(piece)})
		}
	}
	for i := 1; i < len(syms); i++ {
		tryPair(i-1, i)
	}
	for agenda.Len() > 0 {
		p := heap.Pop(agenda).(spmPair)
		l, r := &syms[p.left], &syms[p.right]
		// Skip pairs made stale by an earlier merge.
		if l.end == l.start || r.end == r.start || l.next != p.right || (r.end-l.start) != p.size {
			continue
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = p.left
		}
		r.start, r.end = 0, 0
		tryPair(l.prev, p.left)
		tryPair(p.left, l.next)
	}
	var ids []int32
	for i := 0; i >= 0; i = syms[i].next {
		piece := norm[syms[i].start:syms[i].end]
		if id, ok := m.pieces[piece]; ok {
			ids = append(ids, id)
			continue
		}
		for j := 0; j < len(piece); j++ {
			if id := m.byteIDs[piece[j]]; id >= 0 {
				ids = append(ids, id)
			} else {
				ids = append(ids, m.unk)
			}
		}
	}
	return ids
}

// prefixMatch returns the length of the first symbol of s: the longest user-defined piece it starts with
// (frozen), else one character.
func (m *spmModel) prefixMatch(s string) (int, bool) {
	best := 0
	for _, u := range m.userDefined {
		if len(u) > best && strings.HasPrefix(s, u) {
			best = len(u)
		}
	}
	if best > 0 {
		return best, true
	}
	_, n := utf8.DecodeRuneInString(s)
	return n, false
}

// spmTokenBytes is what each id decodes to: pieces with ▁ as a space, byte pieces as their byte, v1's
// <n>, <|tab|> and <|blank_N|> as the text they stand for, control tokens as nothing.
func spmTokenBytes(tokens []string, types []int32, fam arch.Family) [][]byte {
	out := make([][]byte, len(tokens))
	for i, tok := range tokens {
		switch types[i] {
		case arch.TokenByte:
			var b int
			if _, err := fmt.Sscanf(tok, "<0x%02X>", &b); err == nil {
				out[i] = []byte{byte(b)}
			}
		case arch.TokenControl, arch.TokenUnknown, arch.TokenUnused:
			out[i] = nil
		default:
			if fam == arch.FamilyChatGLM1 {
				if s, ok := v1Special(tok); ok {
					out[i] = []byte(s)
					continue
				}
			}
			out[i] = []byte(strings.ReplaceAll(tok, spaceMark, " "))
		}
	}
	return out
}
