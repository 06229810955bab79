package convert

import (
	"math"

	"github.com/glmtool/glmtool/arch"
)

// chatglm1Layout is THUDM/chatglm-6b: model_type "chatglm" with 2-D position encoding, LayerNorm with
// biases, no multi-query groups, and a lm_head that equals the embedding.
type chatglm1Layout struct{}

var _ hfLayout = chatglm1Layout{}

func (chatglm1Layout) matches(c *hfConfig) bool {
	return c.ModelType == "chatglm" && (c.PositionEnc2D != nil || c.InnerHiddenSize != nil && c.MultiQueryGroups == nil)
}

func (chatglm1Layout) families() []arch.Family { return []arch.Family{arch.FamilyChatGLM1} }

func (chatglm1Layout) family(string, *hfConfig) (arch.Family, error) { return arch.FamilyChatGLM1, nil }

func (chatglm1Layout) params(c *hfConfig, f arch.Family) (arch.Params, error) {
	p, err := c.common(f)
	if err != nil {
		return p, err
	}
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

var chatglm1Names = map[arch.Role]string{
	arch.RoleTokenEmbd: "transformer.word_embeddings.weight",
	arch.RoleAttnNorm:  "transformer.layers.%d.input_layernorm.weight", arch.RoleAttnNormBias: "transformer.layers.%d.input_layernorm.bias",
	arch.RoleAttnQKV: "transformer.layers.%d.attention.query_key_value.weight", arch.RoleAttnQKVBias: "transformer.layers.%d.attention.query_key_value.bias",
	arch.RoleAttnOutput: "transformer.layers.%d.attention.dense.weight", arch.RoleAttnOutputBias: "transformer.layers.%d.attention.dense.bias",
	arch.RoleFFNNorm: "transformer.layers.%d.post_attention_layernorm.weight", arch.RoleFFNNormBias: "transformer.layers.%d.post_attention_layernorm.bias",
	arch.RoleFFNUp: "transformer.layers.%d.mlp.dense_h_to_4h.weight", arch.RoleFFNUpBias: "transformer.layers.%d.mlp.dense_h_to_4h.bias",
	arch.RoleFFNDown: "transformer.layers.%d.mlp.dense_4h_to_h.weight", arch.RoleFFNDownBias: "transformer.layers.%d.mlp.dense_4h_to_h.bias",
	arch.RoleOutputNorm: "transformer.final_layernorm.weight", arch.RoleOutputNormBias: "transformer.final_layernorm.bias",
	arch.RoleOutput: "lm_head.weight",
}

func (chatglm1Layout) checkpointNames(r arch.Role) []string { return one(chatglm1Names[r]) }
