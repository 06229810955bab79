package convert

import (
	"fmt"

	"github.com/glmtool/glmtool/arch"
)

// hfLayout is one Hugging Face model layout that convert reads: how config.json says it is this one, the
// generations it holds, its hyper-parameters and the checkpoint name of each tensor. Adding a layout is
// one file implementing it, plus its entry in hfLayouts.
type hfLayout interface {
	// matches reports whether config.json describes this layout.
	matches(c *hfConfig) bool
	// families are the generations this layout can hold, for --family.
	families() []arch.Family
	// family tells which generation the folder holds.
	family(dir string, c *hfConfig) (arch.Family, error)
	// params reads the hyper-parameters of generation f from config.json.
	params(c *hfConfig, f arch.Family) (arch.Params, error)
	// checkpointNames are the checkpoint tensors of a role, with %d for the layer: one, or several whose
	// rows are stacked in order into the GGUF tensor (the q, k and v projections of the transformers
	// GLMs make llama.cpp's fused QKV).
	checkpointNames(r arch.Role) []string
}

// hfLayouts are the layouts convert knows, tried in order.
var hfLayouts = []hfLayout{chatglm1Layout{}, chatglmLayout{}, glm4Layout{}, glmLayout{}}

// layoutFor finds the layout of config.json, or of the generation --family names.
func layoutFor(c *hfConfig, family arch.Family) (hfLayout, error) {
	if c == nil && family == "" {
		return nil, fmt.Errorf("no config.json and no family to choose a layout by")
	}
	for _, l := range hfLayouts {
		if family != "" {
			for _, f := range l.families() {
				if f == family {
					return l, nil
				}
			}
			continue
		}
		if l.matches(c) {
			return l, nil
		}
	}
	if family != "" {
		return nil, fmt.Errorf("unknown family %q (want one of chatglm, chatglm2, chatglm3, glm4, glm4-0414, glm-edge)", family)
	}
	return nil, fmt.Errorf("config.json: model_type %q is not supported; glmtool converts ChatGLM-6B, ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B (model_type \"chatglm\"), GLM-4-0414 (\"glm4\") and GLM-Edge (\"glm\")", c.ModelType)
}

// detectFamily tells the generations apart (spec §0-§2); override, when set, wins.
func detectFamily(dir string, c *hfConfig, override string) (arch.Family, error) {
	l, err := layoutFor(c, arch.Family(override))
	if err != nil {
		return "", err
	}
	if override != "" {
		return arch.Family(override), nil
	}
	return l.family(dir, c)
}

// paramsOf reads generation f's hyper-parameters through its layout.
func paramsOf(c *hfConfig, f arch.Family) (arch.Params, error) {
	l, err := layoutFor(c, f)
	if err != nil {
		return arch.Params{}, err
	}
	return l.params(c, f)
}

// common reads the hyper-parameters every layout names alike.
func (c *hfConfig) common(f arch.Family) (arch.Params, error) {
	p := arch.Params{Family: f, RopeFreqBase: 10000, NormEpsilon: 1e-5}
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
	if c.LayerNormEpsilon != nil {
		p.NormEpsilon = float32(*c.LayerNormEpsilon)
	}
	return p, nil
}

// transformersParams reads the hyper-parameters of the transformers-native GLMs (Glm4Config, GlmConfig):
// llama-style names, head_dim given, partial_rotary_factor of each head rotated.
func (c *hfConfig) transformersParams(f arch.Family) (arch.Params, error) {
	p := arch.Params{Family: f, RopeFreqBase: 10000, NormEpsilon: 1e-5}
	var err error
	for _, x := range []struct {
		name string
		v    *int
		dst  *int
	}{{"hidden_size", c.HiddenSize, &p.Embedding}, {"num_hidden_layers", c.NumHiddenLayers, &p.Blocks},
		{"num_attention_heads", c.NumHeads, &p.Heads}, {"intermediate_size", c.IntermediateSize, &p.FeedForward},
		{"vocab_size", c.VocabSize, &p.Vocab}, {"max_position_embeddings", c.MaxPositions, &p.ContextLength}} {
		if *x.dst, err = need(x.name, x.v); err != nil {
			return p, err
		}
	}
	p.HeadsKV = p.Heads
	if c.NumKVHeads != nil {
		p.HeadsKV = *c.NumKVHeads
	}
	if c.HeadDim != nil {
		if *c.HeadDim <= 0 || *c.HeadDim > 1<<16 {
			return p, fmt.Errorf("config.json: head_dim %d is out of range", *c.HeadDim)
		}
		if p.Heads <= 0 || *c.HeadDim*p.Heads != p.Embedding {
			p.HeadSize = *c.HeadDim
		}
	}
	if c.RMSNormEps != nil {
		p.NormEpsilon = float32(*c.RMSNormEps)
	}
	if c.RopeTheta != nil {
		if *c.RopeTheta <= 0 || *c.RopeTheta > 1e12 {
			return p, fmt.Errorf("config.json: rope_theta %g is out of range", *c.RopeTheta)
		}
		p.RopeFreqBase = float32(*c.RopeTheta)
	}
	factor := 0.5
	if c.PartialRotaryFactor != nil {
		factor = *c.PartialRotaryFactor
	}
	if p.Heads > 0 {
		p.RopeDims = int(float64(p.HeadDim()) * factor) // transformers: int(head_dim * partial_rotary_factor)
	}
	switch {
	case c.TieWordEmbeddings != nil && *c.TieWordEmbeddings:
		return p, fmt.Errorf("config.json: tie_word_embeddings true is not supported (GLM-4-0414 and GLM-Edge have an lm_head of their own)")
	case c.HiddenAct != "" && c.HiddenAct != "silu":
		return p, fmt.Errorf("config.json: hidden_act %q is not supported (want silu)", c.HiddenAct)
	}
	return p, p.Validate()
}
