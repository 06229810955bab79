// Package tokenizer encodes text to token ids and back for the four ChatGLM generations, from the
// vocabulary stored in a GGUF file: SentencePiece BPE with byte fallback (ChatGLM-6B, ChatGLM2/3-6B; v1 with
// its newline, tab and blank rules) and GLM-4's byte-level BPE with its pre-tokenizer. Special tokens are
// never produced from text: callers insert them as ids.
package tokenizer

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
)

// Tokenizer is an immutable vocabulary with its encoding rules; it is safe for concurrent use.
type Tokenizer struct {
	Family arch.Family
	tokens []string
	types  []int32
	bytes  [][]byte // what each id decodes to (before SentencePiece's leading-space rule)
	spm    *spmModel
	bpe    *bpeModel
	ids    map[string]int32 // token text → id, for looking up specials
	// maxBytes is the longest text one token stands for (see MaxTokenBytes).
	maxBytes int
}

// FromMetadata builds the tokenizer stored in a GGUF file.
func FromMetadata(m *gguf.Metadata, fam arch.Family) (*Tokenizer, error) {
	model, err := m.String(arch.KeyTokenizerModel)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	tokens, err := m.Strings(arch.KeyTokens)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	types, err := m.Int32s(arch.KeyTokenTypes)
	if err != nil {
		types = make([]int32, len(tokens))
		for i := range types {
			types[i] = arch.TokenNormal
		}
	}
	if len(types) != len(tokens) {
		return nil, fmt.Errorf("tokenizer: %d token types for %d tokens", len(types), len(tokens))
	}
	t := &Tokenizer{Family: fam, tokens: tokens, types: types, ids: make(map[string]int32, len(tokens))}
	for i, s := range tokens {
		if _, dup := t.ids[s]; !dup {
			t.ids[s] = int32(i)
		}
	}
	switch model {
	case "llama":
		scores, err := m.Float32s(arch.KeyScores)
		if err != nil || len(scores) != len(tokens) {
			return nil, fmt.Errorf("tokenizer: a SentencePiece vocabulary needs %d scores: %v", len(tokens), err)
		}
		t.spm = newSPM(tokens, scores, types)
		t.bytes = spmTokenBytes(tokens, types, fam)
	case "gpt2":
		t.bpe, t.bytes, err = newBPE(tokens, types)
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
	default:
		return nil, fmt.Errorf("tokenizer: model %q is not supported (want llama or gpt2)", model)
	}
	t.maxBytes = utf8.UTFMax
	for _, b := range t.bytes {
		t.maxBytes = max(t.maxBytes, len(b))
	}
	return t, nil
}

// VocabSize is the number of ids.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Piece is the stored text of id ("▁你好", "<|user|>").
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Text is what id stands for in text: the bytes it decodes to (GLM-4's byte-level pieces turned back into
// UTF-8, SentencePiece's ▁ as a space), possibly part of a character; nothing for special tokens.
func (t *Tokenizer) Text(id int32) []byte {
	if id < 0 || int(id) >= len(t.bytes) {
		return nil
	}
	return t.bytes[id]
}

// ID looks a token up by its stored text, for special tokens ("[gMASK]", "<|user|>").
func (t *Tokenizer) ID(piece string) (int32, bool) { id, ok := t.ids[piece]; return id, ok }

// IsControl reports special tokens (type CONTROL), which decoding leaves out.
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.types) && (t.types[id] == arch.TokenControl || t.types[id] == arch.TokenUnused)
}

// Encode turns plain text into ids, with no special tokens. For SentencePiece vocabularies the dummy
// prefix "▁" is added, as each separately encoded string gets it in the reference tokenizers.
func (t *Tokenizer) Encode(text string) []int32 {
	ids, _ := t.EncodeContext(context.Background(), text, 0)
	return ids
}

// cancelCheckBytes is how much input byte-level BPE encodes between two checks of its context.
const cancelCheckBytes = 4 << 10

// TooLongError says that a text encodes to more than Limit tokens.
type TooLongError struct{ Limit int }

func (e *TooLongError) Error() string {
	return fmt.Sprintf("the text is longer than %d tokens", e.Limit)
}

// EncodeContext is Encode for untrusted input: it fails with ctx's error once ctx is done, and with a
// *TooLongError as soon as the text is known to need more than limit tokens (limit ≤ 0: no limit), so
// that a caller with room for limit tokens pays for about that much input. Byte-level BPE (GLM-4) stops
// within a few kilobytes of either event; SentencePiece merges over the whole text at once, so callers
// first reject text longer than limit·MaxTokenBytes bytes (MinTokens), which bounds its cost.
func (t *Tokenizer) EncodeContext(ctx context.Context, text string, limit int) ([]int32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if limit > 0 && t.MinTokens(len(text)) > limit {
		return nil, &TooLongError{Limit: limit}
	}
	if t.bpe != nil {
		return t.bpe.encode(ctx, text, limit)
	}
	if t.Family == arch.FamilyChatGLM1 {
		text = v1Preprocess(text)
	}
	ids := t.spm.encode(text)
	if limit > 0 && len(ids) > limit {
		return ids, &TooLongError{Limit: limit}
	}
	return ids, ctx.Err()
}

// MaxTokenBytes is the most bytes of text one token stands for (at least 4, one UTF-8 character, which an
// unknown token may replace).
func (t *Tokenizer) MaxTokenBytes() int { return t.maxBytes }

// MinTokens is a lower bound on the tokens that n bytes of text encode to: no token covers more than
// MaxTokenBytes of them. It lets a server refuse a prompt that cannot fit its context before encoding it.
func (t *Tokenizer) MinTokens(n int) int {
	return (n + t.maxBytes - 1) / t.maxBytes
}

// Decode turns ids back into text, leaving out special tokens.
func (t *Tokenizer) Decode(ids []int32) string {
	d := t.NewDecoder()
	var out []byte
	for _, id := range ids {
		out = append(out, d.Next(id)...)
	}
	return string(append(out, d.Flush()...))
}
