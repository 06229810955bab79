package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/internal/jsonerr"
)

// maxConfigBytes bounds config.json and tokenizer_config.json (real ones are a few kilobytes).
const maxConfigBytes = 16 << 20

// hfConfig holds the config.json fields of every ChatGLM version (spec §1).
type hfConfig struct {
	NameOrPath        string          `json:"_name_or_path"`
	ModelType         string          `json:"model_type"`
	Architectures     []string        `json:"architectures"`
	HiddenSize        *int            `json:"hidden_size"`
	NumLayers         *int            `json:"num_layers"`
	NumHiddenLayers   *int            `json:"num_hidden_layers"`
	NumHeads          *int            `json:"num_attention_heads"`
	KVChannels        *int            `json:"kv_channels"`
	MultiQueryGroups  *int            `json:"multi_query_group_num"`
	MultiQuery        *bool           `json:"multi_query_attention"`
	FFNHiddenSize     *int            `json:"ffn_hidden_size"`
	InnerHiddenSize   *int            `json:"inner_hidden_size"`
	PaddedVocabSize   *int            `json:"padded_vocab_size"`
	VocabSize         *int            `json:"vocab_size"`
	SeqLength         *int            `json:"seq_length"`
	MaxSequenceLength *int            `json:"max_sequence_length"`
	LayerNormEpsilon  *float64        `json:"layernorm_epsilon"`
	RopeRatio         *float64        `json:"rope_ratio"`
	PositionEnc2D     *bool           `json:"position_encoding_2d"`
	QuantizationBit   *int            `json:"quantization_bit"`
	TorchDType        string          `json:"torch_dtype"`
	EOSTokenID        json.RawMessage `json:"eos_token_id"`
	PadTokenID        *int            `json:"pad_token_id"`
	BOSTokenID        *int            `json:"bos_token_id"`
	MaskTokenID       *int            `json:"mask_token_id"`
	GMaskTokenID      *int            `json:"gmask_token_id"`
	PreSeqLen         *int            `json:"pre_seq_len"`
}

func readJSONFile(path string, v any) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.Size() > maxConfigBytes {
		return fmt.Errorf("%s: %d bytes is too large", path, st.Size())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %s", path, jsonerr.Describe(err))
	}
	return nil
}

func readConfig(dir string) (*hfConfig, error) {
	var c hfConfig
	if err := readJSONFile(filepath.Join(dir, "config.json"), &c); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return &c, nil
}

// eosIDs reads eos_token_id, which is a number (v1-v3) or a list (v4).
func (c *hfConfig) eosIDs() ([]int, error) {
	if len(c.EOSTokenID) == 0 {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(c.EOSTokenID, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(c.EOSTokenID, &many); err != nil {
		return nil, fmt.Errorf("config.json: eos_token_id must be a number or a list of numbers")
	}
	return many, nil
}

// detectFamily tells the four versions apart (spec §0-§2). override, when set, wins.
func detectFamily(dir string, c *hfConfig, override string) (arch.Family, error) {
	if override != "" {
		for _, f := range arch.Families {
			if string(f) == override {
				return f, nil
			}
		}
		return "", fmt.Errorf("unknown family %q (want one of chatglm, chatglm2, chatglm3, glm4)", override)
	}
	if c.ModelType != "chatglm" {
		return "", fmt.Errorf("config.json: model_type %q is not supported; glmtool converts ChatGLM-6B, ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B (model_type \"chatglm\", architectures ChatGLMModel)", c.ModelType)
	}
	if c.PositionEnc2D != nil || (c.InnerHiddenSize != nil && c.MultiQueryGroups == nil) {
		return arch.FamilyChatGLM1, nil
	}
	name := strings.ToLower(c.NameOrPath)
	var tok struct {
		NameOrPath string `json:"name_or_path"`
		Class      string `json:"tokenizer_class"`
	}
	_ = readJSONFile(filepath.Join(dir, "tokenizer_config.json"), &tok)
	name += " " + strings.ToLower(tok.NameOrPath)
	switch {
	case tok.Class == "ChatGLM4Tokenizer" || strings.Contains(name, "glm-4") || strings.Contains(name, "glm4"):
		return arch.FamilyGLM4, nil
	case strings.Contains(name, "chatglm3"):
		return arch.FamilyChatGLM3, nil
	case strings.Contains(name, "chatglm2"):
		return arch.FamilyChatGLM2, nil
	}
	if c.PaddedVocabSize != nil && *c.PaddedVocabSize >= 151552 {
		return arch.FamilyGLM4, nil
	}
	return "", fmt.Errorf("config.json does not say whether this is ChatGLM2-6B or ChatGLM3-6B (no _name_or_path); pass --family chatglm2 or --family chatglm3")
}

func need(name string, v *int) (int, error) {
	if v == nil {
		return 0, fmt.Errorf("config.json: %s is missing", name)
	}
	if *v <= 0 || *v > 1<<24 {
		return 0, fmt.Errorf("config.json: %s = %d is out of range", name, *v)
	}
	return *v, nil
}

// params builds the hyper-parameters from config.json (spec §1, gguf-and-quants §B.8).
func (c *hfConfig) params(f arch.Family) (arch.Params, error) {
	p := arch.Params{Family: f, RopeFreqBase: 10000}
	var err error
	if p.Embedding, err = need("hidden_size", c.HiddenSize); err != nil {
		return p, err
	}
	layers := c.NumLayers
	if layers == nil {
		layers = c.NumHiddenLayers
	}
	if p.Blocks, err = need("num_layers", layers); err != nil {
		return p, err
	}
	if p.Heads, err = need("num_attention_heads", c.NumHeads); err != nil {
		return p, err
	}
	p.NormEpsilon = 1e-5
	if c.LayerNormEpsilon != nil {
		p.NormEpsilon = float32(*c.LayerNormEpsilon)
	}
	if f == arch.FamilyChatGLM1 {
		if p.FeedForward, err = need("inner_hidden_size", c.InnerHiddenSize); err != nil {
			return p, err
		}
		if p.Vocab, err = need("vocab_size", c.VocabSize); err != nil {
			return p, err
		}
		if p.ContextLength, err = need("max_sequence_length", c.MaxSequenceLength); err != nil {
			return p, err
		}
		p.HeadsKV = p.Heads
		p.RopeDims = p.Embedding / p.Heads / 2
		// spec §3.1: α = √(2·28) for every v1 model, whatever its layer count.
		p.ResidualScale = float32(math.Sqrt(2 * 28))
		return p, p.Validate()
	}
	if p.FeedForward, err = need("ffn_hidden_size", c.FFNHiddenSize); err != nil {
		return p, err
	}
	vocab := c.PaddedVocabSize
	if vocab == nil {
		vocab = c.VocabSize
	}
	if p.Vocab, err = need("padded_vocab_size", vocab); err != nil {
		return p, err
	}
	if p.ContextLength, err = need("seq_length", c.SeqLength); err != nil {
		return p, err
	}
	p.HeadsKV = p.Heads
	if c.MultiQuery == nil || *c.MultiQuery {
		if c.MultiQueryGroups != nil {
			p.HeadsKV = *c.MultiQueryGroups
		}
	}
	headDim := p.Embedding / p.Heads
	if c.KVChannels != nil && *c.KVChannels != headDim {
		return p, fmt.Errorf("config.json: kv_channels %d differs from hidden_size/num_attention_heads %d, which the chatglm architecture assumes", *c.KVChannels, headDim)
	}
	p.RopeDims = headDim / 2
	if c.RopeRatio != nil && *c.RopeRatio != 1 {
		if *c.RopeRatio <= 0 || *c.RopeRatio > 1e9 {
			return p, fmt.Errorf("config.json: rope_ratio %g is out of range", *c.RopeRatio)
		}
		if f == arch.FamilyChatGLM2 {
			// chatglm2-6b-32k divides positions by rope_ratio (spec §3.3), it does not scale the base.
			p.RopeScale = float32(*c.RopeRatio)
		} else {
			p.RopeFreqBase = float32(10000 * *c.RopeRatio)
		}
	}
	return p, p.Validate()
}
