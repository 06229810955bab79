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
	// checkpointName is the checkpoint tensor of a role, with %d for the layer.
	checkpointName(r arch.Role) string
}

// hfLayouts are the layouts convert knows, tried in order.
var hfLayouts = []hfLayout{chatglm1Layout{}, chatglmLayout{}}

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
		return nil, fmt.Errorf("unknown family %q (want one of chatglm, chatglm2, chatglm3, glm4)", family)
	}
	return nil, fmt.Errorf("config.json: model_type %q is not supported; glmtool converts ChatGLM-6B, ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B (model_type \"chatglm\", architectures ChatGLMModel)", c.ModelType)
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
