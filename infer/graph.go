package infer

import (
	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
)

// graph is one architecture's forward pass, written against backend.Stream (graph_NAME.go, one per
// architecture, each reading top to bottom next to its reference).
type graph interface {
	// forward embeds b's tokens, runs every block over them and returns the hidden states before the
	// final norm.
	forward(m *Model, st backend.Stream, b *batch) backend.Acts
	// outputNorm applies the final norm to x in place.
	outputNorm(m *Model, st backend.Stream, x backend.Acts)
	// rope is the rotary embedding of p's model.
	rope(p arch.Params) backend.Rope
	// prefixLM reports ChatGLM-6B's positions: 2-D, and a context that sees itself whole.
	prefixLM() bool
}

// graphFor picks the graph of p's architecture.
func graphFor(p arch.Params) graph {
	switch p.Family.Architecture() {
	case arch.ChatGLM1:
		return chatglm1Graph{}
	case arch.GLM4:
		return glm4Graph{}
	}
	return chatglmGraph{}
}

// The graphs' activation buffers.
const (
	bufX backend.Buf = iota // the residual stream
	bufH                    // the normalized input of a sub-block
	bufQKV
	bufQ
	bufK
	bufV
	bufAtt  // attention output, before its projection
	bufProj // a sub-block's output projection
	bufUp   // the up (and gate) projection
	bufAct  // the activated FFN hidden state
	bufLast // the last row, when only its logits are wanted
	bufLogits
	bufLoRAIn  // a LoRA adapter's A·x
	bufLoRAOut // and B·(A·x)
)

// attention is the attention of layer l shared by the graphs: split the fused QKV product, rotate queries
// and keys, append keys and values to each sequence's cache and attend. It returns the heads' outputs.
func (m *Model) attention(st backend.Stream, l int, qkv backend.Acts, b *batch, layout backend.QKVLayout) backend.Acts {
	p := m.Params
	n, hd := qkv.Rows(), p.HeadDim()
	q := st.Acts(bufQ, n, p.Heads*hd)
	k := st.Acts(bufK, n, p.HeadsKV*hd)
	v := st.Acts(bufV, n, p.HeadsKV*hd)
	st.SplitQKV(q, k, v, qkv, p.Heads, p.HeadsKV, hd, layout)
	st.RoPE(q, p.Heads, hd, &m.rope, b.pos)
	st.RoPE(k, p.HeadsKV, hd, &m.rope, b.pos)
	att := st.Acts(bufAtt, n, p.Heads*hd)
	st.Attention(att, q, k, v, l, b.seqs, p.Heads, p.HeadsKV, hd)
	return att
}

// passBuffers are a forward pass's activations: the residual stream x, a sub-block's normalized input h,
// the QKV product, a sub-block's output projection, the up (and gate) projection and the activated FFN
// state, sized for b's rows.
type passBuffers struct{ x, h, qkv, proj, up, act backend.Acts }

// begin sizes the pass's buffers and embeds b's tokens into x.
func (m *Model) begin(st backend.Stream, b *batch) passBuffers {
	p := m.Params
	n, e := len(b.tokens), p.Embedding
	a := passBuffers{x: st.Acts(bufX, n, e), h: st.Acts(bufH, n, e), qkv: st.Acts(bufQKV, n, p.QKVRows()),
		proj: st.Acts(bufProj, n, e), up: st.Acts(bufUp, n, p.FFNUpRows()), act: st.Acts(bufAct, n, p.FeedForward)}
	st.Embed(a.x, m.tokEmbd, b.tokens)
	return a
}
