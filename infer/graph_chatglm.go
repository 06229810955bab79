package infer

import (
	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
)

// chatglmGraph is llama.cpp's "chatglm" architecture: ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B (spec §3.2;
// THUDM's modeling_chatglm.py GLMBlock): pre-RMSNorm blocks, a fused QKV product with bias and
// grouped-query attention, RoPE on the first half of each head as interleaved pairs, SwiGLU.
type chatglmGraph struct{}

func (chatglmGraph) forward(m *Model, st backend.Stream, b *batch) backend.Acts {
	p := m.Params
	a := m.begin(st, b)
	x, h, qkv, proj, up, act := a.x, a.h, a.qkv, a.proj, a.up, a.act
	for l, ly := range m.layers {
		// layernorm_output = input_layernorm(hidden_states); attention_output = self_attention(...)
		st.RMSNorm(h, x, ly.attnNorm, p.NormEpsilon)
		m.linear(st, qkv, ly.qkv, h, ly.qkvB, b.parts)
		att := m.attention(st, l, qkv, b, backend.QKVGrouped)
		m.linear(st, proj, ly.attnOut, att, nil, b.parts)
		// layernorm_input = residual + attention_output (apply_residual_connection_post_layernorm=False)
		st.Add(x, proj)
		// mlp_output = dense_4h_to_h(swiglu(dense_h_to_4h(post_attention_layernorm(layernorm_input))))
		st.RMSNorm(h, x, ly.ffnNorm, p.NormEpsilon)
		m.linear(st, up, ly.up, h, nil, b.parts)
		st.SwiGLU(act, up)
		m.linear(st, proj, ly.down, act, nil, b.parts)
		st.Add(x, proj)
	}
	return x
}

// outputNorm is final_layernorm, an RMSNorm.
func (chatglmGraph) outputNorm(m *Model, st backend.Stream, x backend.Acts) {
	st.RMSNorm(x, x, m.outNorm, m.Params.NormEpsilon)
}

// rope: rotary_pos_emb over head_dim/2 dimensions, pairs interleaved (the reference's stack of
// x[..., 0::2] and x[..., 1::2]); positions divided by the interpolation factor for the 32k models.
func (chatglmGraph) rope(p arch.Params) backend.Rope {
	return backend.Rope{Mode: backend.RopeInterleaved, Theta: ropeFrequencies(p), PosScale: p.RopeScale}
}

func (chatglmGraph) prefixLM() bool { return false }
