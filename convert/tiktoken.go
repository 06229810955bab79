package convert

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
)

// parseTiktoken reads GLM-4's tokenizer.model: one "base64(token bytes) rank" per line, ranks 0..n-1.
func parseTiktoken(data []byte) ([][]byte, error) {
	var tokens [][]byte
	for lineNo, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			continue
		}
		b64, rankText, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			return nil, fmt.Errorf("line %d: want \"base64 rank\"", lineNo+1)
		}
		tok, err := base64.StdEncoding.DecodeString(string(b64))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo+1, err)
		}
		rank, err := strconv.Atoi(string(rankText))
		if err != nil || rank != len(tokens) {
			return nil, fmt.Errorf("line %d: rank %q, want %d (ranks must be consecutive from 0)", lineNo+1, rankText, len(tokens))
		}
		if len(tok) == 0 {
			return nil, fmt.Errorf("line %d: empty token", lineNo+1)
		}
		tokens = append(tokens, tok)
	}
	if len(tokens) < 256 {
		return nil, fmt.Errorf("%d ranks: a byte-level BPE needs at least the 256 single bytes", len(tokens))
	}
	return tokens, nil
}

// byteToUnicode is GPT-2's reversible map from bytes to printable runes, which llama.cpp's BPE vocabularies
// use for token text ("Ġ" for a space).
func byteToUnicode() [256]rune {
	var m [256]rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			m[b] = rune(b)
		} else {
			m[b] = rune(256 + n)
			n++
		}
	}
	return m
}

func bytesToGPT2(b []byte, table *[256]rune) string {
	out := make([]rune, len(b))
	for i, c := range b {
		out[i] = table[c]
	}
	return string(out)
}

// Bounds on the merge list derived from a tiktoken file. GLM-4's 151,329 tokens give 318,088 merges (2.1
// per token) of 2.7 MB (2.6 bytes per token byte); a vocabulary built to need many more (every prefix of a
// long run of one letter is a token: merges grow with the square of the token length, their text with
// the cube) is refused rather than written into a multi-gigabyte GGUF.
const (
	maxMergesPerToken    = 8
	maxMergeBytesPerByte = 32
)

// bpeMerges derives a merge list from tiktoken ranks the way transformers' TikTokenConverter does for
// tokenizer.json (which is what llama.cpp reads for GLM-4): every split of a token into two tokens gives a
// merge, ordered by the rank of the result, then of the left and right parts. Some GLM-4 tokens cannot be
// reached by merging lower ranks (tiktoken finds them by whole-piece lookup); this rule still gives them
// merges, where the single-path reconstruction llama.cpp uses for other tiktoken models would fail.
//
// The splits of each token are found with rolling hashes of its prefixes and suffixes, so the work is
// linear in the file's size plus the size of the merges found, and those are bounded (see above).
func bpeMerges(tokens [][]byte) ([]string, error) {
	idx := newTokenIndex(tokens)
	if err := idx.err; err != nil {
		return nil, err
	}
	totalBytes := 0
	for _, t := range tokens {
		totalBytes += len(t)
	}
	maxMerges := maxMergesPerToken*len(tokens) + 1024
	maxBytes := maxMergeBytesPerByte*totalBytes + 1<<20
	table := byteToUnicode()
	type merge struct{ l, r, rank int }
	var all []merge
	mergeBytes := 0
	prefix := make([]uint64, 0, 64)
	for rank, tok := range tokens {
		prefix = idx.prefixHashes(tok, prefix[:0])
		whole := prefix[len(tok)]
		for i := 1; i < len(tok); i++ {
			l, okL := idx.candidate(prefix[i], tok[:i])
			if !okL {
				continue
			}
			r, okR := idx.candidate(idx.suffixHash(whole, prefix[i], len(tok)-i), tok[i:])
			if !okR {
				continue
			}
			if l, okL = idx.confirm(l, tok[:i]); !okL {
				continue
			}
			if r, okR = idx.confirm(r, tok[i:]); !okR {
				continue
			}
			all = append(all, merge{l, r, rank})
			mergeBytes += 2*len(tok) + 1 // GPT-2 text takes up to two bytes per byte
			if len(all) > maxMerges || mergeBytes > maxBytes {
				return nil, fmt.Errorf("the %d tokens (%d bytes) would need more than %d merges or %d bytes of merge text: "+
					"not a real BPE vocabulary (GLM-4's needs 2.1 merges per token)", len(tokens), totalBytes, maxMerges, maxBytes)
			}
		}
	}
	// Within one rank the splits were found in order of the left part's length; the merge list wants them
	// by the ranks of the parts.
	sort.Slice(all, func(a, b int) bool {
		x, y := all[a], all[b]
		if x.rank != y.rank {
			return x.rank < y.rank
		}
		if x.l != y.l {
			return x.l < y.l
		}
		return x.r < y.r
	})
	merges := make([]string, len(all))
	for i, m := range all {
		merges[i] = bytesToGPT2(tokens[m.l], &table) + " " + bytesToGPT2(tokens[m.r], &table)
	}
	return merges, nil
}
