package tokenizer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// naiveAppendPiece is tiktoken's byte_pair_encode as its reference writes it (rescan every pair after
// each merge, O(n²)): the heap version must give the same ids.
func naiveAppendPiece(m *bpeModel, piece []byte) []int32 {
	if id, ok := m.ranks[string(piece)]; ok {
		return []int32{id}
	}
	parts := make([]int, len(piece)+1)
	for i := range parts {
		parts[i] = i
	}
	for len(parts) > 2 {
		best, bestRank := -1, int32(0)
		for i := 0; i+2 < len(parts); i++ {
			if r, ok := m.ranks[string(piece[parts[i]:parts[i+2]])]; ok && (best < 0 || r < bestRank) {
				best, bestRank = i, r
			}
		}
		if best < 0 {
			break
		}
		parts = append(parts[:best+1], parts[best+2:]...)
	}
	var ids []int32
	for i := 0; i+1 < len(parts); i++ {
		ids = append(ids, m.ranks[string(piece[parts[i]:parts[i+1]])])
	}
	return ids
}

// TestBPEPieceMatchesReference: pieces of every kind (letters, digits, CJK, runs, punctuation, bytes that
// are not UTF-8) encode exactly as the quadratic reference encodes them.
func TestBPEPieceMatchesReference(t *testing.T) {
	tok := loadTok(t, "glm-4-9b-chat")
	pieces := []string{"hello", "internationalization", "你好世界，今天天气很好", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"=================================", "\xff\xfe\x00abc", "ab" + strings.Repeat("xyz", 40), "Supercalifragilistic",
		"  \t\n\n", "1234567890", "🙂🙂🙂a🙂"}
	for _, p := range pieces {
		got := tok.bpe.appendPiece(nil, []byte(p))
		want := naiveAppendPiece(tok.bpe, []byte(p))
		if !slices.Equal(got, want) {
			t.Errorf("%q: heap encoding %v, reference %v", p, got, want)
		}
	}
}

// TestBPELongPieceBounded: one pre-token of 200,000 letters (51 s with the quadratic merge loop) encodes in
// O(n log n); the bound asserted is loose for CI, the note gives the measured time.
func TestBPELongPieceBounded(t *testing.T) {
	tok := loadTok(t, "glm-4-9b-chat")
	text := strings.Repeat("abcdefghij", 20000)
	start := time.Now()
	ids := tok.Encode(text)
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("encoding 200,000 letters took %v, want well under 5 s", el)
	}
	if got := tok.Decode(ids); got != text {
		t.Fatalf("round trip lost text: %d bytes back of %d", len(got), len(text))
	}
}

// TestEncodeContextCancelAndLimit: encoding untrusted text stops when the context ends or once the token
// limit is passed, without encoding the rest.
func TestEncodeContextCancelAndLimit(t *testing.T) {
	for _, model := range []string{"glm-4-9b-chat", "chatglm3-6b"} {
		tok := loadTok(t, model)
		big := strings.Repeat("The quick brown fox jumps over the lazy dog. 敏捷的狐狸。", 100000) // 6 MB
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := tok.EncodeContext(ctx, big, 0); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: cancelled encode returned %v, want context.Canceled", model, err)
		}
		// Too long for its byte count alone: refused before encoding.
		var tl *TooLongError
		start := time.Now()
		if _, err := tok.EncodeContext(context.Background(), big, 4096); !errors.As(err, &tl) || tl.Limit != 4096 {
			t.Errorf("%s: over-long text returned %v, want a TooLongError", model, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%s: refusing a 6 MB text for a 4096-token limit took %v", model, el)
		}
		// Short enough in bytes to pass the bound, but more tokens than the limit: stops at the limit.
		text := strings.Repeat("a b ", 3000)
		if _, err := tok.EncodeContext(context.Background(), text, 100); !errors.As(err, &tl) {
			t.Errorf("%s: 6000-token text under a 100-token limit returned %v", model, err)
		}
		ids, err := tok.EncodeContext(context.Background(), "你好，世界", 100)
		if err != nil || !slices.Equal(ids, tok.Encode("你好，世界")) {
			t.Errorf("%s: a short text under the limit gave %v, %v", model, ids, err)
		}
		if tok.MinTokens(len(big)) <= 4096 || tok.MaxTokenBytes() < 4 {
			t.Errorf("%s: MinTokens(%d) = %d with MaxTokenBytes %d", model, len(big), tok.MinTokens(len(big)), tok.MaxTokenBytes())
		}
	}
}

// TestMinTokensIsALowerBound: no corpus text encodes to fewer tokens than MinTokens promises, which is what
// makes refusing on the byte count alone safe.
func TestMinTokensIsALowerBound(t *testing.T) {
	for _, v := range readVectors(t, "corpus_vectors.json") {
		tok := loadTok(t, v.Model)
		if n := len(tok.Encode(v.Text)); n < tok.MinTokens(len(v.Text)) {
			t.Errorf("%s %q: %d tokens, fewer than the bound %d", v.Model, v.Text, n, tok.MinTokens(len(v.Text)))
		}
	}
}
