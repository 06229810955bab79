package convert

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/glmtool/glmtool/arch"
)

// chatglmLayout is ChatGLMModel as THUDM/chatglm2-6b, chatglm3-6b and glm-4-9b-chat publish it: RMSNorm,
// multi-query groups, fused gate|up, an untied output layer. The three share config.json's keys; the
// generation is told from the names and the tokenizer.
type chatglmLayout struct{}

var _ hfLayout = chatglmLayout{}

func (chatglmLayout) matches(c *hfConfig) bool { return c.ModelType == "chatglm" }

func (chatglmLayout) families() []arch.Family {
	return []arch.Family{arch.FamilyChatGLM2, arch.FamilyChatGLM3, arch.FamilyGLM4}
}

func (chatglmLayout) family(dir string, c *hfConfig) (arch.Family, error) {
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

func (chatglmLayout) params(c *hfConfig, f arch.Family) (arch.Params, error) {
	p, err := c.common(f)
	if err != nil {
		return p, err
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

var chatglmNames = map[arch.Role]string{
	arch.RoleTokenEmbd: "transformer.embedding.word_embeddings.weight",
	arch.RoleAttnNorm:  "transformer.encoder.layers.%d.input_layernorm.weight",
	arch.RoleAttnQKV:   "transformer.encoder.layers.%d.self_attention.query_key_value.weight", arch.RoleAttnQKVBias: "transformer.encoder.layers.%d.self_attention.query_key_value.bias",
	arch.RoleAttnOutput: "transformer.encoder.layers.%d.self_attention.dense.weight",
	arch.RoleFFNNorm:    "transformer.encoder.layers.%d.post_attention_layernorm.weight",
	arch.RoleFFNUp:      "transformer.encoder.layers.%d.mlp.dense_h_to_4h.weight",
	arch.RoleFFNDown:    "transformer.encoder.layers.%d.mlp.dense_4h_to_h.weight",
	arch.RoleOutputNorm: "transformer.encoder.final_layernorm.weight",
	arch.RoleOutput:     "transformer.output_layer.weight",
}

func (chatglmLayout) checkpointNames(r arch.Role) []string { return one(chatglmNames[r]) }
