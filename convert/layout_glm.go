package convert

import "github.com/glmtool/glmtool/arch"

// glmLayout is transformers' GlmForCausalLM (model_type "glm") as THUDM/glm-edge-1.5b-chat and
// glm-edge-4b-chat publish it: the names of glm4Layout without the sandwich norms, a plain pre-norm block.
// Its graph is ChatGLM2's, so it is written as llama.cpp writes it, in the chatglm architecture, with
// attention.key_length where head_dim is not hidden_size / heads.
type glmLayout struct{}

var _ hfLayout = glmLayout{}

func (glmLayout) matches(c *hfConfig) bool {
	return c.ModelType == "glm" || (c.ModelType == "" && hasArchitecture(c, "GlmForCausalLM"))
}

func (glmLayout) families() []arch.Family { return []arch.Family{arch.FamilyGLMEdge} }

func (glmLayout) family(string, *hfConfig) (arch.Family, error) { return arch.FamilyGLMEdge, nil }

func (glmLayout) params(c *hfConfig, f arch.Family) (arch.Params, error) {
	return c.transformersParams(f)
}

func (glmLayout) checkpointNames(r arch.Role) []string { return transformersGLMNames[r] }
