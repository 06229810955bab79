package tokenizer

import (
	"fmt"

	"github.com/glmtool/glmtool/arch"
)

// bpeModel is tiktoken's byte-level BPE (GLM-4): each pre-token is looked up whole first, then merged from
// single bytes, always joining the adjacent pair whose concatenation has the lowest rank. The rank of a
// byte string is its token id.
type bpeModel struct {
	ranks map[string]int32
}

// gpt2Decoder maps GPT-2's printable runes back to the bytes they stand for.
func gpt2Decoder() map[rune]byte {
	m := make(map[rune]byte, 256)
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[rune(b)] = byte(b)
		} else {
			m[rune(256+n)] = byte(b)
			n++
		}
	}
	return m
}

func newBPE(tokens []string, types []int32) (*bpeModel, [][]byte, error) {
	dec := gpt2Decoder()
	m := &bpeModel{ranks: make(map[string]int32, len(tokens))}
	out := make([][]byte, len(tokens))
	for i, tok := range tokens {
		if types[i] != arch.TokenNormal {
			continue // specials and padding decode to nothing and are never produced from text
		}
		b := make([]byte, 0, len(tok))
		for _, r := range tok {
			c, ok := dec[r]
			if !ok {
				return nil, nil, fmt.Errorf("token %d %q is not byte-level BPE text", i, tok)
			}
			b = append(b, c)
		}
		out[i] = b
		if _, dup := m.ranks[string(b)]; !dup {
			m.ranks[string(b)] = int32(i)
		}
	}
	for b := range 256 {
		if _, ok := m.ranks[string([]byte{byte(b)})]; !ok {
			return nil, nil, fmt.Errorf("byte %#02x has no token; a byte-level BPE needs all 256", b)
		}
	}
	return m, out, nil
}

func (m *bpeModel) encode(text string) []int32 {
	var ids []int32
	for _, piece := range pretokenize(text) {
		ids = m.appendPiece(ids, []byte(piece))
	}
	return ids
}

// appendPiece is tiktoken's byte_pair_encode with its whole-piece shortcut.
func (m *bpeModel) appendPiece(ids []int32, piece []byte) []int32 {
	if id, ok := m.ranks[string(piece)]; ok {
		return append(ids, id)
	}
	// parts[i] is the start of part i; part i spans parts[i]..parts[i+1].
	parts := make([]int, len(piece)+1)
	for i := range parts {
		parts[i] = i
	}
	rank := func(i int) int32 { // rank of merging parts i and i+1, or -1
		if i+2 >= len(parts) {
			return -1
		}
		if r, ok := m.ranks[string(piece[parts[i]:parts[i+2]])]; ok {
			return r
		}
		return -1
	}
	ranks := make([]int32, len(parts)-1)
	for i := range ranks {
		ranks[i] = rank(i)
	}
	for len(parts) > 2 {
		best := -1
		for i := 0; i < len(ranks)-1; i++ {
			if ranks[i] >= 0 && (best < 0 || ranks[i] < ranks[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		parts = append(parts[:best+1], parts[best+2:]...)
		ranks = append(ranks[:best+1], ranks[best+2:]...)
		ranks[best] = rank(best)
		if best > 0 {
			ranks[best-1] = rank(best - 1)
		}
	}
	for i := 0; i+1 < len(parts); i++ {
		ids = append(ids, m.ranks[string(piece[parts[i]:parts[i+1]])])
	}
	return ids
}
