package tokenizer

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode feeds arbitrary prompts to both real tokenizers: no input may panic, every id must exist, and
// valid UTF-8 must decode back to itself.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "你好", "hello  world\n\n", "\t\r\n \u00a0x", "'S'LL 123456 ✅🦙", "\xff\xfe", "▁▁<0x0A>[gMASK]"} {
		f.Add(s)
	}
	spm, bpe := loadTok(f, "chatglm2-6b"), loadTok(f, "glm-4-9b-chat")
	f.Fuzz(func(t *testing.T, text string) {
		for _, tok := range []*Tokenizer{spm, bpe} {
			ids := tok.Encode(text)
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("id %d outside the vocabulary", id)
				}
			}
			// SentencePiece shows spaces as ▁ (U+2581), so a text holding ▁ itself comes back with spaces, as
			// in the reference library.
			if utf8.ValidString(text) && (tok.spm == nil || !strings.Contains(text, spaceMark)) {
				if back := tok.Decode(ids); back != text && !(tok.spm != nil && back == trimOneSpace(text)) {
					t.Fatalf("decode(encode(%q)) = %q", text, back)
				}
			}
		}
	})
}

// trimOneSpace: SentencePiece's decode drops one leading space, which a text starting with a space loses.
func trimOneSpace(s string) string {
	if len(s) > 0 && s[0] == ' ' {
		return s[1:]
	}
	return s
}

// FuzzChatPrompt renders arbitrary conversations with every family's template: no input may panic; every
// id must exist; a prompt accepted under a token limit must respect it and equal the unlimited one.
func FuzzChatPrompt(f *testing.F) {
	f.Add(byte(0), "你好", "Hello!", "get_weather")
	f.Add(byte(7), "[Round 1]\n\n问：", "<|user|>", "")
	f.Add(byte(3), strings.Repeat("ab ", 50), "\x00\xff", "tool")
	toks := []*Tokenizer{loadTok(f, "chatglm2-6b"), loadTok(f, "chatglm3-6b"), loadTok(f, "glm-4-9b-chat")}
	roles := []string{"system", "user", "assistant", "observation", "tool", ""}
	f.Fuzz(func(t *testing.T, shape byte, a, b, meta string) {
		// shape picks the roles of a two- or three-message conversation.
		msgs := []Message{{Role: roles[int(shape)%len(roles)], Content: a}, {Role: roles[int(shape/6)%len(roles)], Content: b, Metadata: meta}}
		if shape&0x80 != 0 {
			msgs = append(msgs, Message{Role: "user", Content: a + b})
		}
		for _, tok := range toks {
			ids, err := tok.ChatPrompt(msgs)
			if err != nil {
				continue
			}
			for _, id := range ids {
				if id < 0 || int(id) >= tok.VocabSize() {
					t.Fatalf("%s: id %d outside the vocabulary", tok.Family, id)
				}
			}
			limit := len(ids)/2 + 1
			capped, err := tok.ChatPromptContext(context.Background(), msgs, limit)
			var tl *TooLongError
			switch {
			case err == nil && (len(capped) > limit || !slices.Equal(capped, ids)):
				t.Fatalf("%s: %d ids under a limit of %d, or not the same prompt", tok.Family, len(capped), limit)
			case err != nil && !errors.As(err, &tl):
				t.Fatalf("%s: an accepted conversation failed under a limit: %v", tok.Family, err)
			case err != nil && len(ids) <= limit:
				t.Fatalf("%s: a %d-token prompt was refused under a limit of %d", tok.Family, len(ids), limit)
			}
		}
	})
}

// FuzzDecodeStream decodes arbitrary id sequences one id at a time, as a server streams them, through the
// UTF-8-safe decoder and the ChatGLM-6B/2 post-processor: no panic, and the stream equals decoding (and
// post-processing) the whole reply at once.
func FuzzDecodeStream(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 200, 17, 99})
	f.Add([]byte("\x00\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0\xb0"))
	toks := []*Tokenizer{loadTok(f, "chatglm2-6b"), loadTok(f, "glm-4-9b-chat")}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, tok := range toks {
			var ids []int32
			for i := 0; i+1 < len(data); i += 2 {
				ids = append(ids, int32(uint16(data[i])<<8|uint16(data[i+1]))%int32(tok.VocabSize()))
			}
			d := tok.NewDecoder()
			post := NewPostProcessor(tok.Family)
			var raw, shown []byte
			for _, id := range ids {
				piece := d.Next(id)
				raw = append(raw, piece...)
				shown = append(shown, post.Write(string(piece))...)
			}
			tail := d.Flush()
			raw = append(raw, tail...)
			shown = append(append(shown, post.Write(string(tail))...), post.Flush()...)
			if whole := tok.Decode(ids); string(raw) != whole {
				t.Fatalf("%s: streamed %q, decoded at once %q", tok.Family, raw, whole)
			}
			if want := PostProcess(tok.Family, string(raw)); utf8.Valid(raw) && string(shown) != want {
				t.Fatalf("%s: post-processed stream %q, at once %q", tok.Family, shown, want)
			}
		}
	})
}
