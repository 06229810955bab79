package infer

import (
	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
)

// glm4Graph is llama.cpp's "glm4" architecture: GLM-4-9B-0414 and GLM-Z1-9B-0414 (transformers'
// modeling_glm4.py Glm4DecoderLayer). It is the chatglm block with two more RMSNorms, one on each
// sub-block's output before its residual add (sandwich norms); the QKV product (q, k and v projections
// with bias, fused at conversion) and RoPE are chatglm's.
type glm4Graph struct{}

func (glm4Graph) forward(m *Model, st backend.Stream, b *batch) backend.Acts {
	p := m.Params
	a := m.begin(st, b)
	x, h, qkv, proj, up, act := a.x, a.h, a.qkv, a.proj, a.up, a.act
	for l, ly := range m.layers {
		// hidden_states = self_attn(input_layernorm(hidden_states))
		st.RMSNorm(h, x, ly.attnNorm, p.NormEpsilon)
		m.linear(st, qkv, ly.qkv, h, ly.qkvB, b.parts)
		att := m.attention(st, l, qkv, b, backend.QKVGrouped)
		m.linear(st, proj, ly.attnOut, att, nil, b.parts)
		// hidden_states = residual + post_self_attn_layernorm(hidden_states)
		st.RMSNorm(proj, proj, ly.postAttnNorm, p.NormEpsilon)
		st.Add(x, proj)
		// hidden_states = mlp(post_attention_layernorm(hidden_states)); down(silu(gate) · up)
		st.RMSNorm(h, x, ly.ffnNorm, p.NormEpsilon)
		m.linear(st, up, ly.up, h, nil, b.parts)
		st.SwiGLU(act, up)
		m.linear(st, proj, ly.down, act, nil, b.parts)
		// hidden_states = residual + post_mlp_layernorm(hidden_states)
		st.RMSNorm(proj, proj, ly.postFFNNorm, p.NormEpsilon)
		st.Add(x, proj)
	}
	return x
}

// outputNorm is model.norm, an RMSNorm.
func (glm4Graph) outputNorm(m *Model, st backend.Stream, x backend.Acts) {
	st.RMSNorm(x, x, m.outNorm, m.Params.NormEpsilon)
}

// rope: the first head_dim·partial_rotary_factor dimensions rotate as interleaved pairs (GGML's normal
// mode), as in chatglm.
func (glm4Graph) rope(p arch.Params) backend.Rope {
	return backend.Rope{Mode: backend.RopeInterleaved, Theta: ropeFrequencies(p), PosScale: p.RopeScale}
}

func (glm4Graph) prefixLM() bool { return false }
