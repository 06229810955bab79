package convert

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
	PrefixProjection  *bool           `json:"prefix_projection"`

	// transformers-native GLMs (Glm4ForCausalLM, GlmForCausalLM).
	NumKVHeads          *int     `json:"num_key_value_heads"`
	HeadDim             *int     `json:"head_dim"`
	IntermediateSize    *int     `json:"intermediate_size"`
	MaxPositions        *int     `json:"max_position_embeddings"`
	RMSNormEps          *float64 `json:"rms_norm_eps"`
	RopeTheta           *float64 `json:"rope_theta"`
	PartialRotaryFactor *float64 `json:"partial_rotary_factor"`
	AttentionBias       *bool    `json:"attention_bias"`
	TieWordEmbeddings   *bool    `json:"tie_word_embeddings"`
	HiddenAct           string   `json:"hidden_act"`
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

func need(name string, v *int) (int, error) {
	if v == nil {
		return 0, fmt.Errorf("config.json: %s is missing", name)
	}
	if *v <= 0 || *v > 1<<24 {
		return 0, fmt.Errorf("config.json: %s = %d is out of range", name, *v)
	}
	return *v, nil
}
