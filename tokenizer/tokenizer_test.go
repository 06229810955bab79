package tokenizer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"

	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
)

// fixtureTokenizer converts a fixture's tokenizer into a vocab-only GGUF and loads it back, as the runtime
// would from a converted model.
func fixtureTokenizer(t testing.TB, dir string) *Tokenizer {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v.gguf")
	if _, err := convert.Checkpoint(context.Background(), filepath.Join(testenv.TestData(t), "hf", dir), out, convert.Options{VocabOnly: true}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := arch.ReadParams(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := FromMetadata(f.Meta, p.Family)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

var (
	tokCache = map[string]*Tokenizer{}
)

func loadTok(t testing.TB, model string) *Tokenizer {
	dirs := map[string]string{"chatglm2-6b": "chatglm2-6b-tiny", "chatglm3-6b": "chatglm3-6b-tiny", "glm-4-9b-chat": "glm-4-9b-chat-tiny"}
	if tok, ok := tokCache[model]; ok {
		return tok
	}
	tok := fixtureTokenizer(t, dirs[model])
	tokCache[model] = tok
	return tok
}

type vector struct {
	Model     string    `json:"model"`
	Text      string    `json:"text"`
	IDs       []int32   `json:"ids"`
	Kind      string    `json:"kind"`
	Decoded   *string   `json:"decoded"`
	Messages  []Message `json:"messages"`
	Roundtrip bool      `json:"roundtrip"`
}

func readVectors(t *testing.T, name string) []vector {
	raw, err := os.ReadFile(testenv.Path(t, "tokenizer", name))
	if err != nil {
		t.Fatal(err)
	}
	var v []vector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCorpusVectors: all 240 encodings made by the reference tokenizers, and their round trips.
func TestCorpusVectors(t *testing.T) {
	vs := readVectors(t, "corpus_vectors.json")
	if len(vs) != 240 {
		t.Fatalf("%d vectors, want 240", len(vs))
	}
	fails := 0
	for _, v := range vs {
		tok := loadTok(t, v.Model)
		got := tok.Encode(v.Text)
		if !slices.Equal(got, v.IDs) {
			fails++
			if fails < 10 {
				t.Errorf("%s %q:\n got %v\nwant %v", v.Model, v.Text, got, v.IDs)
			}
			continue
		}
		if v.Roundtrip {
			if back := tok.Decode(v.IDs); back != v.Text {
				t.Errorf("%s: decode(%v) = %q, want %q", v.Model, v.IDs, back, v.Text)
			}
		}
	}
	if fails > 0 {
		t.Errorf("%d of %d vectors differ", fails, len(vs))
	}
}

// TestChatGLMCppVectors: chatglm.cpp's tokenizer checks that apply here (the ChatGLM-6B ones need the real
// ice_text.model, the CodeGeeX2 one its own tokenizer, and GLM-4V's image tokens are out of scope).
func TestChatGLMCppVectors(t *testing.T) {
	checked := 0
	for _, v := range readVectors(t, "chatglmcpp_vectors.json") {
		if v.Model != "chatglm2-6b" && v.Model != "chatglm3-6b" && v.Model != "glm-4-9b-chat" {
			continue
		}
		tok := loadTok(t, v.Model)
		var got []int32
		var err error
		switch v.Kind {
		case "encode":
			got, err = tok.EncodeWithSpecials(v.Text)
		case "encode_ordinary":
			got = tok.Encode(v.Text)
		case "apply_chat_template":
			got, err = tok.ChatPrompt(v.Messages)
		default:
			t.Fatalf("unknown kind %s", v.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, v.IDs) {
			t.Errorf("%s %s %q:\n got %v\nwant %v", v.Model, v.Kind, v.Text, got, v.IDs)
		}
		if v.Decoded != nil {
			if back := tok.Decode(v.IDs); back != *v.Decoded {
				t.Errorf("%s: decode = %q, want %q", v.Model, back, *v.Decoded)
			}
		}
		checked++
	}
	if checked != 13 {
		t.Errorf("%d vectors checked, want 13", checked)
	}
}

func TestPostProcess(t *testing.T) {
	cases := []struct{ in, want string }{
		{"你好,世界!", "你好，世界！"},
		{"a,b: c", "a,b: c"},
		{" 问?答 ", "问？答"},
		{"[[训练时间]]发布", "2023年发布"},
	}
	for _, c := range cases {
		if got := PostProcess(arch.FamilyChatGLM1, c.in); got != c.want {
			t.Errorf("PostProcess(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := PostProcess(arch.FamilyGLM4, "你好,世界"); got != "你好,世界" {
		t.Errorf("GLM-4 output must not be post-processed: %q", got)
	}
}

// TestV1Rules checks ChatGLM-6B's preprocessing and its inverse on decode.
func TestV1Rules(t *testing.T) {
	if got := v1Preprocess("a\n\tb" + "    c"); got != "a<n><|tab|>b<|blank_4|>c" {
		t.Errorf("v1Preprocess = %q", got)
	}
	long := v1Preprocess(string(make([]byte, 0)) + "x" + spaces(100) + "y")
	if long != "x<|blank_80|><|blank_20|>y" {
		t.Errorf("100 spaces: %q", long)
	}
	for tok, want := range map[string]string{"<n>": "\n", "<|tab|>": "\t", "<|blank_4|>": "    "} {
		if s, ok := v1Special(tok); !ok || s != want {
			t.Errorf("v1Special(%q) = %q, %v", tok, s, ok)
		}
	}
}

func spaces(n int) string { return string(slices.Repeat([]byte(" "), n)) }

// TestPostProcessorStreams: feeding a reply in any chunks gives what PostProcess gives on the whole.
func TestPostProcessorStreams(t *testing.T) {
	texts := []string{"  你好,世界! 我是 ChatGLM: 一个?助手 ;  ", "a,b,c", "好,", ",好", "\n\n答：是的,对。\n"}
	for _, text := range texts {
		want := PostProcess(arch.FamilyChatGLM2, text)
		rs := []rune(text)
		for step := 1; step <= 3; step++ {
			p := NewPostProcessor(arch.FamilyChatGLM2)
			var got string
			for i := 0; i < len(rs); i += step {
				got += p.Write(string(rs[i:min(len(rs), i+step)]))
			}
			got += p.Flush()
			if got != want {
				t.Errorf("chunks of %d: %q, want %q", step, got, want)
			}
		}
	}
}
