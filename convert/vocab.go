package convert

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
)

// maxTokenizerBytes bounds a tokenizer file read into memory (the real ones are 1-3 MB).
const maxTokenizerBytes = 256 << 20

// Vocab is the tokenizer as llama.cpp stores it in GGUF metadata.
type Vocab struct {
	Model, Pre   string
	Tokens       []string
	Scores       []float32 // SentencePiece only
	Types        []int32
	Merges       []string // BPE only
	Special      map[string]int32
	Stop         []int32
	ChatTemplate string
}

// Special ids written as tokenizer.ggml.<name>_token_id.
var specialKeys = map[string]string{"bos": arch.KeyBOS, "eos": arch.KeyEOS, "eot": arch.KeyEOT, "unknown": arch.KeyUNK,
	"padding": arch.KeyPAD, "mask": arch.KeyMASK}

// Chat templates (Jinja), for tools that read tokenizer.chat_template. llama.cpp recognises the ChatGLM3
// and GLM-4 ones by their "[gMASK]sop" / "[gMASK]<sop>" prefix; glmtool's runtime formats chats itself.
const (
	templateChatGLM3 = "[gMASK]sop{% for message in messages %}<|{{ message['role'] }}|>\n {{ message['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
	templateGLM4     = "[gMASK]<sop>{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
	// templateGLMEdge renders as llama.cpp's GLMEDGE format (no [gMASK]<sop> prefix); it spells the role
	// tokens out because llama.cpp recognises the format by <|user|> and <|assistant|> in the template.
	templateGLMEdge  = "{% for message in messages %}{% if message['role'] == 'user' %}<|user|>{% elif message['role'] == 'assistant' %}<|assistant|>{% elif message['role'] == 'system' %}<|system|>{% else %}<|observation|>{% endif %}\n{{ message['content'] }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
	templateChatGLM2 = "[gMASK]sop{% set round = namespace(n=1) %}{% for message in messages %}{% if message['role'] == 'user' %}[Round {{ round.n }}]\n\n问：{{ message['content'] }}\n\n答：{% elif message['role'] == 'assistant' %}{{ message['content'] }}\n\n{% set round.n = round.n + 1 %}{% endif %}{% endfor %}"
	templateChatGLM1 = "{% for message in messages %}{% if message['role'] == 'user' %}{% if loop.length > 1 %}[Round {{ loop.index0 // 2 }}]\n问：{% endif %}{{ message['content'] }}{% if loop.length > 1 %}\n答：{% endif %}{% elif message['role'] == 'assistant' %}{{ message['content'] }}\n{% endif %}{% endfor %}[gMASK]<sop>"
)

// SentencePiece special tokens appended after the piece list (spec §4.2).
var (
	specialsChatGLM2 = []string{"[MASK]", "[gMASK]", "[sMASK]", "sop", "eop"}
	specialsChatGLM3 = append(append([]string{}, specialsChatGLM2...), "<|system|>", "<|user|>", "<|assistant|>", "<|observation|>")
	specialsGLM4     = []string{"<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
		"<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>", "<|begin_of_video|>", "<|end_of_video|>"}
)

// TokenizerFile is the tokenizer file name each family's Hugging Face folder ships.
func TokenizerFile(f arch.Family) string {
	switch f {
	case arch.FamilyChatGLM1:
		return "ice_text.model"
	case arch.FamilyGLM40414, arch.FamilyGLMEdge:
		return "tokenizer.json" // the Hugging Face tokenizers format
	}
	return "tokenizer.model"
}

// chatTemplate is the Jinja template written for family f (glmtool's runtime formats chats itself).
func chatTemplate(f arch.Family) string {
	switch f {
	case arch.FamilyChatGLM1:
		return templateChatGLM1
	case arch.FamilyChatGLM2:
		return templateChatGLM2
	case arch.FamilyChatGLM3:
		return templateChatGLM3
	case arch.FamilyGLMEdge:
		return templateGLMEdge
	}
	return templateGLM4
}

func readBounded(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxTokenizerBytes {
		return nil, fmt.Errorf("%s: %d bytes is too large for a tokenizer", path, st.Size())
	}
	return os.ReadFile(path)
}

// LoadVocab builds the vocabulary of family f from a tokenizer file (path), padded to vocabRows. eos comes
// from config.json where it gives a list (GLM-4's stop ids).
func LoadVocab(path string, f arch.Family, vocabRows int, configEOS []int) (*Vocab, error) {
	data, err := readBounded(path)
	if err != nil {
		return nil, err
	}
	var v *Vocab
	switch f {
	case arch.FamilyGLM4:
		v, err = glm4Vocab(data, vocabRows)
	case arch.FamilyGLM40414, arch.FamilyGLMEdge:
		v, err = tokenizerJSONVocab(data, f, vocabRows)
	default:
		v, err = spmVocab(data, f, vocabRows)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", filepath.Base(path), err)
	}
	if f.ByteLevelBPE() && len(configEOS) > 0 {
		v.Stop = v.Stop[:0]
		for _, id := range configEOS {
			v.Stop = append(v.Stop, int32(id))
		}
	}
	return v, nil
}

func spmVocab(data []byte, f arch.Family, rows int) (*Vocab, error) {
	m, err := parseSPM(data)
	if err != nil {
		return nil, err
	}
	var specials []string
	switch f {
	case arch.FamilyChatGLM2:
		specials = specialsChatGLM2
	case arch.FamilyChatGLM3:
		specials = specialsChatGLM3
	}
	if n := len(m.Pieces) + len(specials); n > rows {
		return nil, fmt.Errorf("%d tokens (%d pieces + %d special) do not fit the %d rows of the embedding in config.json", n, len(m.Pieces), len(specials), rows)
	}
	v := &Vocab{Model: "llama", Pre: "chatglm-spm", Special: map[string]int32{}}
	for i, p := range m.Pieces {
		text := p.Piece
		if f != arch.FamilyChatGLM1 {
			// llama.cpp's set_vocab_chatglm3 renames the first three pieces.
			switch i {
			case 0:
				text = "<unk>"
			case 1:
				text = "<bos>"
			case 2:
				text = "<eos>"
			}
		}
		v.Tokens = append(v.Tokens, text)
		v.Scores = append(v.Scores, p.Score)
		v.Types = append(v.Types, p.Type)
	}
	for _, s := range specials {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, arch.TokenControl)
	}
	for id := len(v.Tokens); id < rows; id++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", id))
		v.Scores = append(v.Scores, 0)
		v.Types = append(v.Types, arch.TokenUnused)
	}
	switch f {
	case arch.FamilyChatGLM1:
		v.Pre = "chatglm1-spm"
		v.ChatTemplate = templateChatGLM1
		for name, piece := range map[string]string{"bos": "<sop>", "eos": "<eop>", "mask": "[MASK]", "padding": "<pad>", "unknown": "<unk>"} {
			if id := indexOf(v.Tokens, piece); id >= 0 {
				v.Special[name] = int32(id)
			}
		}
		if eos, ok := v.Special["eos"]; ok {
			v.Stop = []int32{eos}
		}
	case arch.FamilyChatGLM2:
		v.Special = map[string]int32{"bos": 1, "eos": 2, "unknown": 0, "padding": 0}
		v.Stop = []int32{2}
		v.ChatTemplate = templateChatGLM2
	case arch.FamilyChatGLM3:
		v.Special = map[string]int32{"bos": 1, "eos": 2, "unknown": 0, "padding": 0}
		user, obs := int32(indexOf(v.Tokens, "<|user|>")), int32(indexOf(v.Tokens, "<|observation|>"))
		v.Stop = []int32{2, user, obs}
		v.ChatTemplate = templateChatGLM3
	}
	return v, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

func glm4Vocab(data []byte, rows int) (*Vocab, error) {
	ranks, err := parseTiktoken(data)
	if err != nil {
		return nil, err
	}
	if n := len(ranks) + len(specialsGLM4); n > rows {
		return nil, fmt.Errorf("%d tokens (%d ranks + %d special) do not fit the %d rows of the embedding in config.json", n, len(ranks), len(specialsGLM4), rows)
	}
	merges, err := bpeMerges(ranks)
	if err != nil {
		return nil, err
	}
	table := byteToUnicode()
	v := &Vocab{Model: "gpt2", Pre: "chatglm-bpe", Merges: merges, Special: map[string]int32{}, ChatTemplate: templateGLM4}
	for _, r := range ranks {
		v.Tokens = append(v.Tokens, bytesToGPT2(r, &table))
		v.Types = append(v.Types, arch.TokenNormal)
	}
	first := int32(len(v.Tokens))
	for _, s := range specialsGLM4 {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, arch.TokenControl)
	}
	for id := len(v.Tokens); id < rows; id++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", id))
		v.Types = append(v.Types, arch.TokenUnused)
	}
	// gguf-and-quants §B.6.2: eos = unk = pad = <|endoftext|>, eot = <|user|>; no BOS.
	v.Special = map[string]int32{"eos": first, "unknown": first, "padding": first, "eot": first + 7}
	v.Stop = []int32{first, first + 7, first + 9}
	return v, nil
}

// Write stores the vocabulary in the order convert_hf_to_gguf.py writes it.
func (v *Vocab) Write(m *gguf.Metadata) {
	if len(v.Tokens) > 0 {
		m.Set(arch.KeyTokenizerModel, gguf.String(v.Model))
		m.Set(arch.KeyTokenizerPre, gguf.String(v.Pre))
		m.Set(arch.KeyTokens, gguf.Array(v.Tokens))
		if v.Scores != nil {
			m.Set(arch.KeyScores, gguf.Array(v.Scores))
		}
		m.Set(arch.KeyTokenTypes, gguf.Array(v.Types))
		if v.Merges != nil {
			m.Set(arch.KeyMerges, gguf.Array(v.Merges))
		}
	}
	for _, name := range []string{"bos", "eos", "eot", "unknown", "padding", "mask"} {
		if id, ok := v.Special[name]; ok {
			m.Set(specialKeys[name], gguf.Uint32(uint32(id)))
		}
	}
	if len(v.Stop) > 0 {
		m.Set(arch.KeyStopTokens, gguf.Array(v.Stop))
	}
	m.Set(arch.KeyAddBOS, gguf.Bool(false))
	if v.ChatTemplate != "" {
		m.Set(arch.KeyChatTemplate, gguf.String(v.ChatTemplate))
	}
}
