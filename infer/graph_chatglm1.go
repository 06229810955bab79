package infer

import (
	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/tensor"
)

// chatglm1Graph is the original ChatGLM-6B (spec §3.1; THUDM's modeling_chatglm.py for chatglm-6b):
// LayerNorm, a QKV product laid out head by head, 2-D rotate-half RoPE, the prefix-LM mask (set up by
// Session.positions and Session.visible), GELU, and residuals that add the normalized input times α = √56.
type chatglm1Graph struct{}

func (chatglm1Graph) forward(m *Model, st backend.Stream, b *batch) backend.Acts {
	p := m.Params
	a := m.begin(st, b)
	x, h, qkv, proj, up, act := a.x, a.h, a.qkv, a.proj, a.up, a.act
	alpha := p.ResidualScale
	for l, ly := range m.layers {
		// attention_input = input_layernorm(hidden_states)
		st.LayerNorm(h, x, ly.attnNorm, ly.attnNormB, p.NormEpsilon)
		m.linear(st, qkv, ly.qkv, h, ly.qkvB, b.parts)
		att := m.attention(st, l, qkv, b, backend.QKVPerHead)
		m.linear(st, proj, ly.attnOut, att, ly.attnOutB, b.parts)
		// hidden_states = attention_input * alpha + attention_output
		st.ScaleAdd(x, h, alpha, proj)
		// mlp_input = post_attention_layernorm(hidden_states)
		st.LayerNorm(h, x, ly.ffnNorm, ly.ffnNormB, p.NormEpsilon)
		m.linear(st, up, ly.up, h, ly.upB, b.parts)
		st.GELU(act, up)
		m.linear(st, proj, ly.down, act, ly.downB, b.parts)
		// output = mlp_input * alpha + mlp_output
		st.ScaleAdd(x, h, alpha, proj)
	}
	return x
}

// outputNorm is final_layernorm, a LayerNorm.
func (chatglm1Graph) outputNorm(m *Model, st backend.Stream, x backend.Acts) {
	st.LayerNorm(x, x, m.outNorm, m.outNormB, m.Params.NormEpsilon)
}

// rope: the reference builds the inverse frequencies in fp16, which is reproduced.
func (chatglm1Graph) rope(p arch.Params) backend.Rope {
	theta := ropeFrequencies(p)
	for i, t := range theta {
		theta[i] = tensor.F16ToF32(tensor.F32ToF16(t))
	}
	return backend.Rope{Mode: backend.RopeChatGLM1, Theta: theta}
}

func (chatglm1Graph) prefixLM() bool { return true }
