package convert

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/internal/jsonerr"
)

// glm4PreTokenizerRegex is GLM-4's pre-tokenizer pattern (tokenizer/pretokenize.go implements it by hand);
// a tokenizer.json whose Split uses another pattern is refused rather than tokenized wrongly.
const glm4PreTokenizerRegex = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// hfTokenizerJSON is the part of a Hugging Face tokenizers file (tokenizer.json) that a byte-level BPE
// vocabulary needs.
type hfTokenizerJSON struct {
	AddedTokens []struct {
		ID      int64  `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer *hfPreTokenizer `json:"pre_tokenizer"`
	Model        struct {
		Type         string           `json:"type"`
		Vocab        map[string]int64 `json:"vocab"`
		Merges       json.RawMessage  `json:"merges"`
		ByteFallback bool             `json:"byte_fallback"`
	} `json:"model"`
}

// hfPreTokenizer is one pre-tokenizer, or a Sequence of them.
type hfPreTokenizer struct {
	Type          string            `json:"type"`
	PreTokenizers []*hfPreTokenizer `json:"pretokenizers"`
	Pattern       *struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	} `json:"pattern"`
	UseRegex *bool `json:"use_regex"`
}

// maxPreTokenizers bounds a Sequence (real files have two).
const maxPreTokenizers = 16

// checkPreTokenizer accepts GLM-4's: Split on its regex, then ByteLevel without GPT-2's own regex.
func checkPreTokenizer(p *hfPreTokenizer) error {
	if p == nil {
		return fmt.Errorf("pre_tokenizer: none; GLM's byte-level BPE splits text with GLM-4's pattern first")
	}
	steps := []*hfPreTokenizer{p}
	if p.Type == "Sequence" {
		if len(p.PreTokenizers) > maxPreTokenizers {
			return fmt.Errorf("pre_tokenizer: a sequence of %d steps (at most %d)", len(p.PreTokenizers), maxPreTokenizers)
		}
		steps = p.PreTokenizers
	}
	split, byteLevel := false, false
	for i, s := range steps {
		if s == nil {
			return fmt.Errorf("pre_tokenizer step %d: null", i)
		}
		switch s.Type {
		case "Split":
			if s.Pattern == nil || s.Pattern.Regex == nil {
				return fmt.Errorf("pre_tokenizer step %d: Split without a Regex pattern", i)
			}
			if *s.Pattern.Regex != glm4PreTokenizerRegex {
				return fmt.Errorf("pre_tokenizer step %d: Split pattern %.80q is not GLM-4's; glmtool implements only GLM-4's pre-tokenizer", i, *s.Pattern.Regex)
			}
			split = true
		case "ByteLevel":
			if s.UseRegex != nil && *s.UseRegex {
				return fmt.Errorf("pre_tokenizer step %d: ByteLevel with use_regex (GPT-2's pattern), not GLM-4's", i)
			}
			byteLevel = true
		default:
			return fmt.Errorf("pre_tokenizer step %d: type %q is not supported (want Split and ByteLevel)", i, s.Type)
		}
	}
	if !split || !byteLevel {
		return fmt.Errorf("pre_tokenizer: want GLM-4's Split pattern followed by ByteLevel")
	}
	return nil
}

// tokenizerJSONVocab builds a byte-level BPE vocabulary of family f from tokenizer.json, padded to rows
// (the embedding's). Pieces are stored as the file spells them (GPT-2's byte-to-character mapping, which
// is what GGUF's gpt2 model stores too), merges in their rank order, added special tokens as control
// tokens.
func tokenizerJSONVocab(data []byte, f arch.Family, rows int) (*Vocab, error) {
	var tj hfTokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %s", jsonerr.Describe(err))
	}
	m := &tj.Model
	switch {
	case m.Type != "BPE":
		return nil, fmt.Errorf("tokenizer.json: model type %q is not supported (want BPE)", m.Type)
	case m.ByteFallback:
		return nil, fmt.Errorf("tokenizer.json: byte_fallback BPE is SentencePiece-style, not GLM's byte-level BPE")
	case len(tj.Normalizer) > 0 && string(tj.Normalizer) != "null":
		return nil, fmt.Errorf("tokenizer.json: a normalizer is not supported (GLM's byte-level BPE has none)")
	case len(m.Vocab) == 0:
		return nil, fmt.Errorf("tokenizer.json: model.vocab is empty")
	}
	if err := checkPreTokenizer(tj.PreTokenizer); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	if len(m.Vocab)+len(tj.AddedTokens) > rows {
		return nil, fmt.Errorf("tokenizer.json: %d pieces and %d added tokens do not fit the %d rows of the embedding in config.json", len(m.Vocab), len(tj.AddedTokens), rows)
	}
	tokens := make([]string, rows)
	set := make([]bool, rows)
	types := make([]int32, rows)
	place := func(id int64, tok string, typ int32, what string) error {
		if id < 0 || id >= int64(rows) {
			return fmt.Errorf("tokenizer.json: %s %.40q has id %d, outside the %d rows of the embedding", what, tok, id, rows)
		}
		if set[id] && tokens[id] != tok {
			return fmt.Errorf("tokenizer.json: id %d is both %.40q and %.40q", id, tokens[id], tok)
		}
		tokens[id], types[id], set[id] = tok, typ, true
		return nil
	}
	for tok, id := range m.Vocab {
		if err := place(id, tok, arch.TokenNormal, "piece"); err != nil {
			return nil, err
		}
	}
	v := &Vocab{Model: "gpt2", Pre: "chatglm-bpe", Special: map[string]int32{}, ChatTemplate: chatTemplate(f)}
	for _, a := range tj.AddedTokens {
		typ := arch.TokenUserDefined
		if a.Special {
			typ = arch.TokenControl
		}
		if err := place(a.ID, a.Content, typ, "added token"); err != nil {
			return nil, err
		}
	}
	for id := range tokens {
		if !set[id] {
			tokens[id], types[id] = fmt.Sprintf("[PAD%d]", id), arch.TokenUnused
		}
	}
	merges, err := tokenizerJSONMerges(m.Merges, m.Vocab)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	v.Tokens, v.Types, v.Merges = tokens, types, merges
	ids := map[string]int32{}
	for _, a := range tj.AddedTokens {
		ids[a.Content] = int32(a.ID)
	}
	// gguf-and-quants §B.6.2, as for GLM-4: eos = unk = pad = <|endoftext|>, eot = <|user|>; no BOS.
	if id, ok := ids["<|endoftext|>"]; ok {
		v.Special["eos"], v.Special["unknown"], v.Special["padding"] = id, id, id
		v.Stop = append(v.Stop, id)
	}
	for _, name := range []string{"<|user|>", "<|observation|>"} {
		if id, ok := ids[name]; ok {
			if name == "<|user|>" {
				v.Special["eot"] = id
			}
			v.Stop = append(v.Stop, id)
		}
	}
	return v, nil
}

// tokenizerJSONMerges reads model.merges, written as "a b" strings (tokenizers before 0.20) or as ["a",
// "b"] pairs, and checks that both sides and the merged piece are in the vocabulary.
func tokenizerJSONMerges(raw json.RawMessage, vocab map[string]int64) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, fmt.Errorf("model.merges is missing")
	}
	var pairs [][]string
	var asStrings []string
	if err := json.Unmarshal(raw, &asStrings); err == nil {
		pairs = make([][]string, len(asStrings))
		for i, s := range asStrings {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") {
				return nil, fmt.Errorf("merge %d (%.40q) is not two pieces separated by one space", i, s)
			}
			pairs[i] = []string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return nil, fmt.Errorf("model.merges: want a list of \"a b\" strings or of [a, b] pairs: %s", jsonerr.Describe(err))
	}
	out := make([]string, len(pairs))
	for i, p := range pairs {
		if len(p) != 2 {
			return nil, fmt.Errorf("merge %d has %d pieces, want 2", i, len(p))
		}
		for _, piece := range []string{p[0], p[1], p[0] + p[1]} {
			if _, ok := vocab[piece]; !ok {
				return nil, fmt.Errorf("merge %d (%.40q + %.40q): %.40q is not in the vocabulary", i, p[0], p[1], piece)
			}
		}
		if strings.Contains(p[0], " ") || strings.Contains(p[1], " ") {
			return nil, fmt.Errorf("merge %d: a piece with a space cannot be written as a GGUF merge", i)
		}
		out[i] = p[0] + " " + p[1]
	}
	return out, nil
}
