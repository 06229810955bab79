package convert

import "github.com/glmtool/glmtool/arch"

// glm4Layout is transformers' Glm4ForCausalLM (model_type "glm4") as THUDM/GLM-4-9B-0414 and
// GLM-Z1-9B-0414 publish it: llama-style names, separate q/k/v projections with bias, a fused gate|up
// projection, and the sandwich norms post_self_attn_layernorm / post_mlp_layernorm. It is written as
// llama.cpp's glm4 architecture, with q, k and v stacked into its fused attn_qkv.
type glm4Layout struct{}

var _ hfLayout = glm4Layout{}

func (glm4Layout) matches(c *hfConfig) bool {
	return c.ModelType == "glm4" || (c.ModelType == "" && hasArchitecture(c, "Glm4ForCausalLM"))
}

func (glm4Layout) families() []arch.Family { return []arch.Family{arch.FamilyGLM40414} }

func (glm4Layout) family(string, *hfConfig) (arch.Family, error) { return arch.FamilyGLM40414, nil }

func (glm4Layout) params(c *hfConfig, f arch.Family) (arch.Params, error) {
	return c.transformersParams(f)
}

func (glm4Layout) checkpointNames(r arch.Role) []string {
	switch r {
	case arch.RoleAttnPostNorm:
		return one("model.layers.%d.post_self_attn_layernorm.weight")
	case arch.RoleFFNPostNorm:
		return one("model.layers.%d.post_mlp_layernorm.weight")
	}
	return transformersGLMNames[r]
}

// transformersGLMNames are the checkpoint names the two transformers-native GLMs share (modeling_glm.py,
// modeling_glm4.py).
var transformersGLMNames = map[arch.Role][]string{
	arch.RoleTokenEmbd: {"model.embed_tokens.weight"},
	arch.RoleAttnNorm:  {"model.layers.%d.input_layernorm.weight"},
	arch.RoleAttnQKV: {"model.layers.%d.self_attn.q_proj.weight", "model.layers.%d.self_attn.k_proj.weight",
		"model.layers.%d.self_attn.v_proj.weight"},
	arch.RoleAttnQKVBias: {"model.layers.%d.self_attn.q_proj.bias", "model.layers.%d.self_attn.k_proj.bias",
		"model.layers.%d.self_attn.v_proj.bias"},
	arch.RoleAttnOutput: {"model.layers.%d.self_attn.o_proj.weight"},
	arch.RoleFFNNorm:    {"model.layers.%d.post_attention_layernorm.weight"}, // the pre-MLP norm, despite its name
	arch.RoleFFNUp:      {"model.layers.%d.mlp.gate_up_proj.weight"},         // rows: gate, then up
	arch.RoleFFNDown:    {"model.layers.%d.mlp.down_proj.weight"},
	arch.RoleOutputNorm: {"model.norm.weight"},
	arch.RoleOutput:     {"lm_head.weight"},
}

func hasArchitecture(c *hfConfig, name string) bool {
	for _, a := range c.Architectures {
		if a == name {
			return true
		}
	}
	return false
}

// one is a single checkpoint name, or none for "".
func one(name string) []string {
	if name == "" {
		return nil
	}
	return []string{name}
}
