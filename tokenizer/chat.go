package tokenizer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/glmtool/glmtool/arch"
)

// Message is one chat turn. Role is system, user, assistant or observation; Metadata is the assistant's
// tool-call name (ChatGLM3/GLM-4), empty otherwise.
type Message struct {
	Role     string `json:"role"`
	Content  string `json:"content"`
	Metadata string `json:"metadata,omitempty"`
}

// special returns the id of a special token that the family's vocabulary must have.
func (t *Tokenizer) special(name string) (int32, error) {
	id, ok := t.ID(name)
	if !ok {
		return 0, fmt.Errorf("the vocabulary has no %s token", name)
	}
	return id, nil
}

// Prefix is the family's prompt prefix: [gMASK] sop (ChatGLM2/3), [gMASK] <sop> (GLM-4, GLM-4-0414);
// GLM-Edge has none (llama.cpp's GLMEDGE format); ChatGLM-6B puts its [gMASK] <sop> after the text instead
// (see Suffix).
func (t *Tokenizer) Prefix() ([]int32, error) {
	var names []string
	switch t.Family {
	case arch.FamilyChatGLM2, arch.FamilyChatGLM3:
		names = []string{"[gMASK]", "sop"}
	case arch.FamilyGLM4, arch.FamilyGLM40414:
		names = []string{"[gMASK]", "<sop>"}
	}
	return t.specials(names)
}

// Suffix is what follows the text: [gMASK] <sop> for ChatGLM-6B, nothing for the others.
func (t *Tokenizer) Suffix() ([]int32, error) {
	if t.Family == arch.FamilyChatGLM1 {
		return t.specials([]string{"[gMASK]", "<sop>"})
	}
	return nil, nil
}

func (t *Tokenizer) specials(names []string) ([]int32, error) {
	ids := make([]int32, 0, len(names))
	for _, n := range names {
		id, err := t.special(n)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// EncodeWithSpecials is the reference tokenizers' encode(text): the family's prefix or suffix around the
// plain encoding.
func (t *Tokenizer) EncodeWithSpecials(text string) ([]int32, error) {
	return t.EncodeWithSpecialsContext(context.Background(), text, 0)
}

// EncodeWithSpecialsContext is EncodeWithSpecials under EncodeContext's rules: it stops when ctx is done
// or once the result is known to exceed limit tokens (limit ≤ 0: no limit).
func (t *Tokenizer) EncodeWithSpecialsContext(ctx context.Context, text string, limit int) ([]int32, error) {
	pre, err := t.Prefix()
	if err != nil {
		return nil, err
	}
	suf, err := t.Suffix()
	if err != nil {
		return nil, err
	}
	b := &budget{t: t, ctx: ctx, limit: limit, ids: pre}
	if err := b.encode(text); err != nil {
		return nil, err
	}
	return b.finish(suf...)
}

// budget builds one prompt from several encoded parts against one token limit.
type budget struct {
	t     *Tokenizer
	ctx   context.Context
	limit int
	ids   []int32
}

func (b *budget) encode(text string) error {
	lim := 0
	if b.limit > 0 {
		lim = max(1, b.limit-len(b.ids))
	}
	ids, err := b.t.EncodeContext(b.ctx, text, lim)
	if err != nil {
		var tl *TooLongError
		if errors.As(err, &tl) {
			return &TooLongError{Limit: b.limit}
		}
		return err
	}
	b.ids = append(b.ids, ids...)
	return nil
}

func (b *budget) finish(tail ...int32) ([]int32, error) {
	b.ids = append(b.ids, tail...)
	if b.limit > 0 && len(b.ids) > b.limit {
		return nil, &TooLongError{Limit: b.limit}
	}
	return b.ids, nil
}

// SupportsRoles reports whether the family has system/observation roles (ChatGLM3, GLM-4 and its
// successors).
func (t *Tokenizer) SupportsRoles() bool { return t.Family.ChatRoles() }

// ChatPrompt builds the token ids of a conversation, ending with the generation prompt (spec §5):
//   - ChatGLM-6B: "[Round i]\n问：q\n答：a\n" rounds (none for a single query), then [gMASK] <sop>;
//   - ChatGLM2-6B: [gMASK] sop "[Round i]\n\n问：q\n\n答：a\n\n" rounds, 1-based;
//   - ChatGLM3-6B / GLM-4: prefix, then <|role|> + encode(metadata+"\n") + encode(content) per message,
//     then <|assistant|>; GLM-4 leaves out messages with empty content.
func (t *Tokenizer) ChatPrompt(msgs []Message) ([]int32, error) {
	return t.ChatPromptContext(context.Background(), msgs, 0)
}

// ChatPromptContext is ChatPrompt for untrusted conversations: it stops when ctx is done, or with a
// *TooLongError once the prompt is known to exceed limit tokens (limit ≤ 0: no limit); a conversation
// whose text alone is too long for limit tokens is refused before any of it is encoded.
func (t *Tokenizer) ChatPromptContext(ctx context.Context, msgs []Message, limit int) ([]int32, error) {
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "user" && msgs[len(msgs)-1].Role != "observation" {
		return nil, fmt.Errorf("a chat must end with a user (or observation) message")
	}
	if limit > 0 {
		n := 0
		for _, m := range msgs {
			n += len(m.Content) + len(m.Metadata)
		}
		if t.MinTokens(n) > limit {
			return nil, &TooLongError{Limit: limit}
		}
	}
	if !t.SupportsRoles() {
		return t.roundPrompt(ctx, msgs, limit)
	}
	ids, err := t.Prefix()
	if err != nil {
		return nil, err
	}
	b := &budget{t: t, ctx: ctx, limit: limit, ids: ids}
	for _, m := range msgs {
		if (t.Family == arch.FamilyGLM4 || t.Family == arch.FamilyGLM40414) && m.Content == "" {
			continue
		}
		role, err := t.roleToken(m.Role)
		if err != nil {
			return nil, err
		}
		b.ids = append(b.ids, role)
		if err := b.encode(m.Metadata + "\n"); err != nil {
			return nil, err
		}
		if err := b.encode(m.Content); err != nil {
			return nil, err
		}
	}
	asst, err := t.roleToken("assistant")
	if err != nil {
		return nil, err
	}
	return b.finish(asst)
}

func (t *Tokenizer) roleToken(role string) (int32, error) {
	switch role {
	case "system", "user", "assistant", "observation":
		return t.special("<|" + role + "|>")
	}
	return 0, fmt.Errorf("unknown chat role %q (want system, user, assistant or observation)", role)
}

// roundPrompt is the ChatGLM-6B / ChatGLM2-6B "[Round N]" format, which has only user and assistant turns.
func (t *Tokenizer) roundPrompt(ctx context.Context, msgs []Message, limit int) ([]int32, error) {
	var qa [][2]string
	for i := 0; i < len(msgs); i++ {
		m := msgs[i]
		if m.Role != "user" {
			return nil, fmt.Errorf("%s has no %s role: turns must alternate user, assistant, ..., user", t.Family, m.Role)
		}
		a := ""
		if i+1 < len(msgs) {
			if msgs[i+1].Role != "assistant" {
				return nil, fmt.Errorf("%s has no %s role: turns must alternate user, assistant, ..., user", t.Family, msgs[i+1].Role)
			}
			a = msgs[i+1].Content
			i++
		}
		qa = append(qa, [2]string{m.Content, a})
	}
	var b strings.Builder
	if t.Family == arch.FamilyChatGLM1 {
		if len(qa) == 1 {
			b.WriteString(qa[0][0])
		} else {
			for i, r := range qa[:len(qa)-1] {
				fmt.Fprintf(&b, "[Round %d]\n问：%s\n答：%s\n", i, r[0], r[1])
			}
			fmt.Fprintf(&b, "[Round %d]\n问：%s\n答：", len(qa)-1, qa[len(qa)-1][0])
		}
	} else {
		for i, r := range qa[:len(qa)-1] {
			fmt.Fprintf(&b, "[Round %d]\n\n问：%s\n\n答：%s\n\n", i+1, r[0], r[1])
		}
		fmt.Fprintf(&b, "[Round %d]\n\n问：%s\n\n答：", len(qa), qa[len(qa)-1][0])
	}
	return t.EncodeWithSpecialsContext(ctx, b.String(), limit)
}

// StopIDs are the ids that end a reply (from the file's stop list, or its eos).
func StopIDs(t *Tokenizer, stored []int32) []int32 {
	if len(stored) > 0 {
		return stored
	}
	switch t.Family {
	case arch.FamilyChatGLM1:
		return t.mustIDs("<eop>")
	case arch.FamilyGLM4, arch.FamilyGLM40414, arch.FamilyGLMEdge:
		return t.mustIDs("<|endoftext|>", "<|user|>", "<|observation|>")
	case arch.FamilyChatGLM3:
		return append([]int32{2}, t.mustIDs("<|user|>", "<|observation|>")...)
	}
	return []int32{2}
}

func (t *Tokenizer) mustIDs(names ...string) []int32 {
	var ids []int32
	for _, n := range names {
		if id, ok := t.ID(n); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// PostProcess applies ChatGLM-6B / ChatGLM2-6B's process_response to a finished reply: ASCII , ! : ; ?
// next to a CJK ideograph become full-width; others are returned unchanged.
func PostProcess(fam arch.Family, s string) string {
	if fam != arch.FamilyChatGLM1 && fam != arch.FamilyChatGLM2 {
		return s
	}
	s = strings.TrimSpace(s)
	if fam == arch.FamilyChatGLM1 {
		s = strings.ReplaceAll(s, "[[训练时间]]", "2023年")
	}
	full := map[rune]rune{',': '，', '!': '！', ':': '：', ';': '；', '?': '？'}
	cjk := func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }
	rs := []rune(s)
	out := make([]rune, len(rs))
	copy(out, rs)
	// The reference applies one regex pass per punctuation mark, first "ideograph then mark", then "mark
	// then ideograph"; marks never touch each other, so one left-to-right pass over the original is the same.
	for i, r := range rs {
		f, ok := full[r]
		if !ok {
			continue
		}
		if (i > 0 && cjk(rs[i-1])) || (i+1 < len(rs) && cjk(rs[i+1])) {
			out[i] = f
		}
	}
	return string(out)
}
