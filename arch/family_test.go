package arch

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
)

// TestFamilyOfLlamaCppFiles: files written by llama.cpp carry no glmtool.family; their family is read from
// what they hold. The shared fixtures are ChatGLM3 (SentencePiece with role tokens) and GLM-4 (BPE); a
// ChatGLM2 file is the ChatGLM3 fixture with the role tokens gone, as ChatGLM2's vocabulary has none.
func TestFamilyOfLlamaCppFiles(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	for _, c := range []struct {
		file string
		want Family
	}{
		{"chatglm3-tiny-f32.gguf", FamilyChatGLM3}, {"chatglm3-tiny-Q4_K_M.gguf", FamilyChatGLM3},
		{"glm4-tiny-bpe-f16.gguf", FamilyGLM4}, {"glm4-tiny-bpe-Q8_0.gguf", FamilyGLM4},
	} {
		f, err := gguf.Open(filepath.Join(dir, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if f.Meta.Has(KeyFamily) {
			t.Fatalf("%s has %s: not a llama.cpp-written file", c.file, KeyFamily)
		}
		p, err := ReadParams(f)
		f.Close()
		if err != nil || p.Family != c.want {
			t.Errorf("%s: family %q (%v), want %q", c.file, p.Family, err, c.want)
		}
	}
	f, err := gguf.Open(filepath.Join(dir, "chatglm3-tiny-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v2 := withoutRoles(t, f)
	p, err := ReadParams(v2)
	if err != nil || p.Family != FamilyChatGLM2 {
		t.Errorf("ChatGLM2-style vocabulary: family %q (%v), want chatglm2", p.Family, err)
	}
}

// withoutRoles rewrites f with the four role tokens renamed, as a ChatGLM2 vocabulary has them not.
func withoutRoles(t *testing.T, f *gguf.File) *gguf.File {
	t.Helper()
	meta := f.Meta.Clone()
	toks, err := meta.Strings(KeyTokens)
	if err != nil {
		t.Fatal(err)
	}
	toks = slices.Clone(toks)
	for i, s := range toks {
		if s == "<|system|>" || s == "<|user|>" || s == "<|assistant|>" || s == "<|observation|>" {
			toks[i] = "[unused" + string(rune('0'+i%10)) + "]"
		}
	}
	meta.Set(KeyTokens, gguf.Array(toks))
	meta.Delete(KeyChatTemplate)
	var buf bytes.Buffer
	if err := gguf.Write(context.Background(), &buf, meta, f.Sources()); err != nil {
		t.Fatal(err)
	}
	out, err := gguf.Parse("chatglm2-style.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFamilyOfMetadata: each clue alone, in order of precedence.
func TestFamilyOfMetadata(t *testing.T) {
	kv := func(k string, v gguf.Value) gguf.KV { return gguf.KV{Key: k, Value: v} }
	cases := []struct {
		name string
		kvs  []gguf.KV
		want Family
	}{
		{"glmtool's own key", []gguf.KV{kv(KeyFamily, gguf.String("chatglm2")), kv(KeyTokenizerModel, gguf.String("gpt2"))}, FamilyChatGLM2},
		{"byte-level BPE", []gguf.KV{kv(KeyTokenizerModel, gguf.String("gpt2"))}, FamilyGLM4},
		{"byte-level BPE, GLM-4's template", []gguf.KV{kv(KeyTokenizerModel, gguf.String("gpt2")), kv(KeyChatTemplate, gguf.String("[gMASK]<sop>{% for m in messages %}<|{{ m.role }}|>"))}, FamilyGLM4},
		{"byte-level BPE, GLM-Edge's template", []gguf.KV{kv(KeyTokenizerModel, gguf.String("gpt2")), kv(KeyChatTemplate, gguf.String("{% for item in messages %}<|user|>\n{{ item.content }}<|assistant|>"))}, FamilyGLMEdge},
		{"byte-level BPE, GLM-Edge's name", []gguf.KV{kv(KeyTokenizerModel, gguf.String("gpt2")), kv(KeyName, gguf.String("glm-edge-4b-chat"))}, FamilyGLMEdge},
		{"roles in the vocabulary", []gguf.KV{kv(KeyTokens, gguf.Array([]string{"[gMASK]", "sop", "<|user|>"}))}, FamilyChatGLM3},
		{"no roles", []gguf.KV{kv(KeyTokens, gguf.Array([]string{"[gMASK]", "sop"}))}, FamilyChatGLM2},
		{"round template", []gguf.KV{kv(KeyChatTemplate, gguf.String("{% for m in messages %}[Round {{ loop.index }}]"))}, FamilyChatGLM2},
		{"role template", []gguf.KV{kv(KeyChatTemplate, gguf.String("<|user|>\n{{ content }}"))}, FamilyChatGLM3},
		{"name", []gguf.KV{kv(KeyName, gguf.String("ChatGLM2-6B-32k"))}, FamilyChatGLM2},
		{"glm-4 name", []gguf.KV{kv(KeyName, gguf.String("glm-4-9b-chat"))}, FamilyGLM4},
		{"nothing", nil, FamilyChatGLM3},
	}
	for _, c := range cases {
		got, err := familyOf(gguf.NewMetadata(c.kvs...), ChatGLM)
		if err != nil || got != c.want {
			t.Errorf("%s: %q (%v), want %q", c.name, got, err, c.want)
		}
	}
	if _, err := familyOf(gguf.NewMetadata(kv(KeyFamily, gguf.String("llama"))), ChatGLM); err == nil {
		t.Error("an unknown glmtool.family value was accepted")
	}
	if got, _ := familyOf(gguf.NewMetadata(), ChatGLM1); got != FamilyChatGLM1 {
		t.Errorf("chatglm1 architecture: %q", got)
	}
	if got, _ := familyOf(gguf.NewMetadata(), GLM4); got != FamilyGLM40414 {
		t.Errorf("glm4 architecture: %q", got)
	}
	if _, err := familyOf(gguf.NewMetadata(kv(KeyFamily, gguf.String("glm4-0414"))), ChatGLM); err == nil {
		t.Error("glmtool.family glm4-0414 was accepted in a chatglm file")
	}
}
