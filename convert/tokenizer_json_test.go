package convert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tokenizer"
)

// glm4TokenizerJSON writes GLM-4's vocabulary (the glm-4-9b-chat fixture's tokenizer.model, through the
// tiktoken path) as a Hugging Face tokenizer.json, the format GLM-4-0414 ships, and returns it with the
// tiktoken path's vocabulary.
func glm4TokenizerJSON(t *testing.T) ([]byte, *Vocab) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixtureDir(t, "glm-4-9b-chat-tiny"), "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := glm4Vocab(data, 151552)
	if err != nil {
		t.Fatal(err)
	}
	vocab := map[string]int{}
	type added struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	}
	var specials []added
	for id, tok := range want.Tokens {
		switch want.Types[id] {
		case arch.TokenNormal:
			vocab[tok] = id
		case arch.TokenControl:
			specials = append(specials, added{ID: id, Content: tok, Special: true})
		}
	}
	doc := map[string]any{
		"version":      "1.0",
		"added_tokens": specials,
		"normalizer":   nil,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": glm4PreTokenizerRegex}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false},
		}},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": want.Merges, "byte_fallback": false},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return raw, want
}

// TestTokenizerJSONMatchesTiktoken: GLM-4's vocabulary written as tokenizer.json reads back to the same
// pieces, types, merges and special ids as the tiktoken path, and both encode the texts of the 240 corpus
// vectors to the same ids (the GLM-4 vectors' ids exactly).
func TestTokenizerJSONMatchesTiktoken(t *testing.T) {
	raw, want := glm4TokenizerJSON(t)
	got, err := tokenizerJSONVocab(raw, arch.FamilyGLM40414, 151552)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tokens, want.Tokens) || !slices.Equal(got.Types, want.Types) || !slices.Equal(got.Merges, want.Merges) {
		t.Fatalf("tokenizer.json gives other pieces, types or merges than tokenizer.model")
	}
	for _, name := range []string{"eos", "unknown", "padding", "eot"} {
		if got.Special[name] != want.Special[name] {
			t.Errorf("special %s = %d, tiktoken path %d", name, got.Special[name], want.Special[name])
		}
	}
	// The merges-list form of newer tokenizers files reads the same.
	var doc map[string]any
	_ = json.Unmarshal(raw, &doc)
	pairs := make([][]string, len(want.Merges))
	for i, m := range want.Merges {
		a, b, _ := strings.Cut(m, " ")
		pairs[i] = []string{a, b}
	}
	doc["model"].(map[string]any)["merges"] = pairs
	raw2, _ := json.Marshal(doc)
	got2, err := tokenizerJSONVocab(raw2, arch.FamilyGLM40414, 151552)
	if err != nil || !slices.Equal(got2.Merges, want.Merges) {
		t.Fatalf("merges as pairs: %v", err)
	}

	toTokenizer := func(v *Vocab) *tokenizer.Tokenizer {
		meta := gguf.NewMetadata()
		v.Write(meta)
		tok, err := tokenizer.FromMetadata(meta, arch.FamilyGLM40414)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	fromJSON, fromTiktoken := toTokenizer(got), toTokenizer(want)
	vraw, err := os.ReadFile(testenv.Path(t, "tokenizer", "corpus_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []tokVector
	if err := json.Unmarshal(vraw, &vectors); err != nil {
		t.Fatal(err)
	}
	for i, v := range vectors {
		a, b := fromJSON.Encode(v.Text), fromTiktoken.Encode(v.Text)
		if !slices.Equal(a, b) {
			t.Fatalf("vector %d (%.30q): tokenizer.json gives %v, tiktoken %v", i, v.Text, a, b)
		}
		if v.Model == "glm-4-9b-chat" && !slices.Equal(a, v.IDs) {
			t.Errorf("vector %d (%.30q): %v, want %v", i, v.Text, a, v.IDs)
		}
	}
	if len(vectors) != 240 {
		t.Errorf("%d corpus vectors, want 240", len(vectors))
	}
}

// TestTokenizerJSONConverts: a GLM-4-0414 folder with a tokenizer.json converts with its vocabulary and
// the config's stop ids.
func TestTokenizerJSONConverts(t *testing.T) {
	raw, _ := glm4TokenizerJSON(t)
	dir := t.TempDir()
	src := fixtureDir(t, "glm-4-9b-0414-tiny")
	for _, name := range []string{"config.json", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"} {
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := Checkpoint(context.Background(), dir, out, Options{VocabOnly: true}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	toks, _ := f.Meta.Strings(arch.KeyTokens)
	stops, _ := f.Meta.Int32s(arch.KeyStopTokens)
	if len(toks) != 151552 || toks[151336] != "<|user|>" || !slices.Equal(stops, []int32{151329, 151336, 151338}) {
		t.Errorf("%d tokens, <|user|> slot %q, stops %v", len(toks), toks[min(151336, len(toks)-1)], stops)
	}
}

// TestTokenizerJSONHostile: broken or hostile tokenizer.json files are refused with an error naming what
// is wrong, without panicking.
func TestTokenizerJSONHostile(t *testing.T) {
	good := `{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` +
		mustJSON(glm4PreTokenizerRegex) + `}},{"type":"ByteLevel","use_regex":false}]}}`
	if _, err := tokenizerJSONVocab([]byte(good), arch.FamilyGLMEdge, 8); err != nil {
		t.Fatalf("the minimal file is refused: %v", err)
	}
	cases := []struct{ name, doc, want string }{
		{"not JSON", `{"model":`, "tokenizer.json"},
		{"deep nesting", strings.Repeat("[", 20000) + strings.Repeat("]", 20000), "tokenizer.json"},
		{"wrong type", `{"model":{"type":"BPE","vocab":["a"]}}`, "model.vocab"},
		{"unigram", strings.Replace(good, `"BPE"`, `"Unigram"`, 1), "Unigram"},
		{"id out of range", strings.Replace(good, `"ab":2`, `"ab":99`, 1), "outside"},
		{"negative id", strings.Replace(good, `"ab":2`, `"ab":-1`, 1), "outside"},
		{"id twice", strings.Replace(good, `"ab":2`, `"ab":1`, 1), "both"},
		{"merge of unknown piece", strings.Replace(good, `["a b"]`, `["a c"]`, 1), "not in the vocabulary"},
		{"merge of three", strings.Replace(good, `["a b"]`, `["a b a"]`, 1), "two pieces"},
		{"merge pair of one", strings.Replace(good, `["a b"]`, `[["a"]]`, 1), "pieces, want 2"},
		{"no merges", strings.Replace(good, `,"merges":["a b"]`, ``, 1), "merges"},
		{"GPT-2 regex", strings.Replace(good, `"use_regex":false`, `"use_regex":true`, 1), "use_regex"},
		{"other regex", strings.Replace(good, mustJSON(glm4PreTokenizerRegex), `"\\w+"`, 1), "not GLM-4's"},
		{"no pre-tokenizer", good[:strings.Index(good, `,"pre_tokenizer"`)] + "}", "pre_tokenizer"},
		{"normalizer", strings.Replace(good, `{"model"`, `{"normalizer":{"type":"NFC"},"model"`, 1), "normalizer"},
		{"too many pieces", good, "do not fit"},
	}
	for _, c := range cases {
		rows := 8
		if c.name == "too many pieces" {
			rows = 2
		}
		_, err := tokenizerJSONVocab([]byte(c.doc), arch.FamilyGLMEdge, rows)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
