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

// bpeMerges derives a merge list from tiktoken ranks the way transformers' TikTokenConverter does for
// tokenizer.json (which is what llama.cpp reads for GLM-4): every split of a token into two tokens gives a
// merge, ordered by the rank of the result, then of the left and right parts. Some GLM-4 tokens cannot be
// reached by merging lower ranks (tiktoken finds them by whole-piece lookup); this rule still gives them
// merges, where the single-path reconstruction llama.cpp uses for other tiktoken models would fail.
func bpeMerges(tokens [][]byte) ([]string, error) {
	ranks := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if _, dup := ranks[string(t)]; dup {
			return nil, fmt.Errorf("token %d (%q) appears twice", i, t)
		}
		ranks[string(t)] = i
	}
	table := byteToUnicode()
	type merge struct{ l, r, rank int }
	var all []merge
	for rank, tok := range tokens {
		var local []merge
		for i := 1; i < len(tok); i++ {
			l, okL := ranks[string(tok[:i])]
			r, okR := ranks[string(tok[i:])]
			if okL && okR {
				local = append(local, merge{l, r, rank})
			}
		}
		sort.Slice(local, func(a, b int) bool {
			if local[a].l != local[b].l {
				return local[a].l < local[b].l
			}
			return local[a].r < local[b].r
		})
		all = append(all, local...)
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].rank < all[b].rank })
	merges := make([]string, len(all))
	for i, m := range all {
		merges[i] = bytesToGPT2(tokens[m.l], &table) + " " + bytesToGPT2(tokens[m.r], &table)
	}
	return merges, nil
}
