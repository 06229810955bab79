package convert

import (
	"bytes"
	"fmt"
	"math/bits"
	"math/rand/v2"
)

// mersenne61 is the prime 2^61 − 1: polynomial hashes modulo it with a random base collide for two
// different strings of length n with probability about n/2^61, whatever the strings (a power-of-two
// modulus has adversarial collisions for every base).
const mersenne61 = 1<<61 - 1

func mulmod61(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// a·b = q·2^61 + r with r < 2^61, and 2^61 ≡ 1, so a·b ≡ q + r.
	r := (lo & mersenne61) + (lo>>61 | hi<<3)
	if r >= mersenne61 {
		r -= mersenne61
	}
	return r
}

// tokenIndex finds a byte string among the tokens by its polynomial hash, so that all the prefixes and
// suffixes of one token are looked up in time linear in its length.
type tokenIndex struct {
	tokens [][]byte
	base   uint64
	pow    []uint64 // base^i
	byHash map[uint64]int
	exact  map[string]int // built only if two tokens' hashes collide
	err    error
}

func newTokenIndex(tokens [][]byte) *tokenIndex {
	idx := &tokenIndex{tokens: tokens, base: 256 + rand.Uint64N(mersenne61-512), byHash: make(map[uint64]int, len(tokens))}
	maxLen := 0
	for _, t := range tokens {
		maxLen = max(maxLen, len(t))
	}
	idx.pow = make([]uint64, maxLen+1)
	idx.pow[0] = 1
	for i := 1; i <= maxLen; i++ {
		idx.pow[i] = mulmod61(idx.pow[i-1], idx.base)
	}
	var prefix []uint64
	for i, t := range tokens {
		prefix = idx.prefixHashes(t, prefix[:0])
		h := prefix[len(t)]
		if j, dup := idx.byHash[h]; dup {
			if bytes.Equal(tokens[j], t) {
				idx.err = fmt.Errorf("token %d (%q) appears twice", i, t)
				return idx
			}
			idx.buildExact() // a true collision: astronomically rare, but then exact lookups
			continue
		}
		idx.byHash[h] = i
	}
	return idx
}

func (idx *tokenIndex) buildExact() {
	if idx.exact != nil {
		return
	}
	idx.exact = make(map[string]int, len(idx.tokens))
	for i, t := range idx.tokens {
		if _, ok := idx.exact[string(t)]; !ok {
			idx.exact[string(t)] = i
		}
	}
}

// prefixHashes appends the hashes of t[:0], t[:1], …, t[:len(t)] to dst.
func (idx *tokenIndex) prefixHashes(t []byte, dst []uint64) []uint64 {
	h := uint64(0)
	dst = append(dst, h)
	for _, c := range t {
		h = mulmod61(h, idx.base) + uint64(c) + 1 // +1: no byte is a zero digit
		if h >= mersenne61 {
			h -= mersenne61
		}
		dst = append(dst, h)
	}
	return dst
}

// suffixHash is the hash of the last n bytes of a string whose hash is whole and whose prefix before
// those bytes hashes to head.
func (idx *tokenIndex) suffixHash(whole, head uint64, n int) uint64 {
	return (whole + mersenne61 - mulmod61(head, idx.pow[n])) % mersenne61
}

// candidate returns the token whose hash is h, unverified: the caller confirms a match with exact
// (checking every candidate would make a token's prefix scan quadratic in its length).
func (idx *tokenIndex) candidate(h uint64, s []byte) (int, bool) {
	if idx.exact != nil {
		i, ok := idx.exact[string(s)]
		return i, ok
	}
	i, ok := idx.byHash[h]
	return i, ok
}

// confirm checks that candidate i really is s; on a hash collision it falls back to exact lookups.
func (idx *tokenIndex) confirm(i int, s []byte) (int, bool) {
	if bytes.Equal(idx.tokens[i], s) {
		return i, true
	}
	idx.buildExact()
	j, ok := idx.exact[string(s)]
	return j, ok
}
