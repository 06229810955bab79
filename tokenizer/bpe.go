package tokenizer

import (
	"container/heap"
	"context"
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

// encode appends the ids of text to ids, piece by piece. Every cancelCheckBytes of input it checks ctx,
// and it stops once more than limit ids exist (limit ≤ 0: no limit), so a caller that can only use
// limit tokens never pays for encoding the rest.
func (m *bpeModel) encode(ctx context.Context, text string, limit int) ([]int32, error) {
	var ids []int32
	rs := []rune(text)
	since := 0
	for i := 0; i < len(rs); {
		n := matchAt(rs, i)
		piece := []byte(string(rs[i : i+n]))
		ids = m.appendPiece(ids, piece)
		i += n
		if limit > 0 && len(ids) > limit {
			return ids, &TooLongError{Limit: limit}
		}
		if since += len(piece); since >= cancelCheckBytes {
			since = 0
			if err := ctx.Err(); err != nil {
				return ids, err
			}
		}
	}
	return ids, nil
}

// appendPiece is tiktoken's byte_pair_encode with its whole-piece shortcut: starting from single bytes,
// it merges the adjacent pair whose concatenation has the lowest rank (the leftmost on ties) until no
// pair is a token. The pairs wait in a heap and the parts form a linked list, so a piece of n bytes costs
// O(n log n) rather than the O(n²) of rescanning every pair after each merge.
func (m *bpeModel) appendPiece(ids []int32, piece []byte) []int32 {
	if id, ok := m.ranks[string(piece)]; ok {
		return append(ids, id)
	}
	n := len(piece)
	// A part is named by its first byte; next[i] is where the part starting at i ends.
	next := make([]int32, n)
	for i := range next {
		next[i] = int32(i + 1)
	}
	var pairs pairHeap
	for i := range int32(n - 1) {
		m.pushPair(&pairs, piece, next, i)
	}
	prev := make([]int32, n)
	for i := range prev {
		prev[i] = int32(i - 1)
	}
	for pairs.Len() > 0 {
		p := heap.Pop(&pairs).(bpePair)
		// Stale entries (a part merged away, or grown since the pair was pushed) are skipped.
		j := next[p.left]
		if prev[p.left] == -2 || int(j) >= n || next[j] != p.end {
			continue
		}
		next[p.left] = p.end
		prev[j] = -2 // merged into p.left
		if int(p.end) < n {
			prev[p.end] = p.left
		}
		if l := prev[p.left]; l >= 0 {
			m.pushPair(&pairs, piece, next, l)
		}
		m.pushPair(&pairs, piece, next, p.left)
	}
	for i := int32(0); int(i) < n; i = next[i] {
		ids = append(ids, m.ranks[string(piece[i:next[i]])])
	}
	return ids
}

// pushPair adds the pair of the part at i and the part after it when their concatenation is a token.
func (m *bpeModel) pushPair(pairs *pairHeap, piece []byte, next []int32, i int32) {
	j := next[i]
	if int(j) >= len(piece) {
		return
	}
	end := next[j]
	if r, ok := m.ranks[string(piece[i:end])]; ok {
		heap.Push(pairs, bpePair{rank: r, left: i, end: end})
	}
}

// bpePair is a candidate merge of the part starting at left with the one after it, ending at end.
type bpePair struct {
	rank      int32
	left, end int32
}

// pairHeap orders candidate merges by rank, then position: tiktoken's lowest rank, leftmost first.
type pairHeap []bpePair

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].left < h[b].left
}
func (h pairHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(bpePair)) }
func (h *pairHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
