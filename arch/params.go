package arch

import (
	"fmt"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// Params are a model's hyper-parameters, the same for every family (v1 uses LayerNorm and 2-D RoPE,
// which the Family implies).
type Params struct {
	Family        Family
	ContextLength int
	Embedding     int // hidden size
	FeedForward   int // ffn_hidden_size (v2+: the fused up projection has twice as many rows)
	Blocks        int
	Heads         int
	HeadsKV       int
	NormEpsilon   float32
	RopeDims      int     // rotated dimensions per head (v2+: head_dim/2; v1: head_dim/2 per position half)
	RopeFreqBase  float32 // 10000 · rope_ratio for v3/v4
	RopeScale     float32 // position interpolation factor (chatglm2-6b-32k: 16); 0 or 1 means none
	ResidualScale float32 // v1 only: √56
	Vocab         int     // rows of token_embd / output
	// HeadSize is the per-head width where it is not Embedding/Heads (config.json's head_dim; GGUF's
	// attention.key_length); 0 means Embedding/Heads.
	HeadSize int
	// PrefixLen is the number of P-Tuning v2 prefix slots (0: none).
	PrefixLen int
}

// KVDim is the width of one layer's key (or value) for one position: KV heads × head width.
func (p Params) KVDim() int { return p.HeadsKV * p.HeadDim() }

// HeadDim is the per-head width.
func (p Params) HeadDim() int {
	if p.HeadSize > 0 {
		return p.HeadSize
	}
	return p.Embedding / p.Heads
}

// QKVRows is the number of rows of the fused QKV weight.
func (p Params) QKVRows() int {
	if p.Family == FamilyChatGLM1 {
		return 3 * p.Embedding
	}
	return (p.Heads + 2*p.HeadsKV) * p.HeadDim()
}

// AttnWidth is the width of the attention heads together (the input of the attention output product).
func (p Params) AttnWidth() int { return p.Heads * p.HeadDim() }

// FFNUpRows is the number of rows of the up projection (gate and up fused for v2+).
func (p Params) FFNUpRows() int {
	if p.Family == FamilyChatGLM1 {
		return p.FeedForward
	}
	return 2 * p.FeedForward
}

// Validate rejects hyper-parameters that cannot describe a model.
func (p Params) Validate() error {
	switch {
	case p.Embedding <= 0 || p.Heads <= 0 || p.Blocks <= 0 || p.FeedForward <= 0 || p.Vocab <= 0:
		return fmt.Errorf("hidden size %d, heads %d, layers %d, ffn %d and vocab %d must all be positive", p.Embedding, p.Heads, p.Blocks, p.FeedForward, p.Vocab)
	case p.HeadSize == 0 && p.Embedding%p.Heads != 0:
		return fmt.Errorf("hidden size %d is not a multiple of the %d heads", p.Embedding, p.Heads)
	case p.HeadSize < 0 || p.HeadSize > 1<<16:
		return fmt.Errorf("head size %d is out of range", p.HeadSize)
	case p.PrefixLen < 0 || p.PrefixLen > 1<<16:
		return fmt.Errorf("P-Tuning prefix length %d is out of range", p.PrefixLen)
	case p.HeadsKV <= 0 || p.Heads%p.HeadsKV != 0:
		return fmt.Errorf("%d attention heads are not a multiple of %d KV heads", p.Heads, p.HeadsKV)
	case p.RopeDims <= 0 || p.RopeDims > p.HeadDim() || p.RopeDims%2 != 0:
		return fmt.Errorf("rope dimension %d does not fit head size %d", p.RopeDims, p.HeadDim())
	}
	return nil
}

// Write stores p in metadata in the order convert_hf_to_gguf.py writes the chatglm keys.
func (p Params) Write(m *gguf.Metadata, ft tensor.FileType) {
	k := KeysFor(p.Family.Architecture())
	m.Set(k.ContextLength(), gguf.Uint32(uint32(p.ContextLength)))
	m.Set(k.EmbeddingLength(), gguf.Uint32(uint32(p.Embedding)))
	m.Set(k.FeedForwardLength(), gguf.Uint32(uint32(p.FeedForward)))
	m.Set(k.BlockCount(), gguf.Uint32(uint32(p.Blocks)))
	m.Set(k.HeadCount(), gguf.Uint32(uint32(p.Heads)))
	m.Set(k.HeadCountKV(), gguf.Uint32(uint32(p.HeadsKV)))
	if p.HeadSize > 0 && p.HeadSize*p.Heads != p.Embedding {
		m.Set(k.KeyLength(), gguf.Uint32(uint32(p.HeadSize)))
		m.Set(k.ValueLength(), gguf.Uint32(uint32(p.HeadSize)))
	}
	if p.Family == FamilyChatGLM1 {
		m.Set(k.LayerNormEpsilon(), gguf.Float32(p.NormEpsilon))
	} else {
		m.Set(k.RMSEpsilon(), gguf.Float32(p.NormEpsilon))
	}
	m.Set(KeyFileType, gguf.Uint32(uint32(ft)))
	m.Set(k.RopeDimensionCount(), gguf.Uint32(uint32(p.RopeDims)))
	m.Set(k.RopeFreqBase(), gguf.Float32(p.RopeFreqBase))
	if p.RopeScale > 1 {
		m.Set(k.RopeScalingType(), gguf.String("linear"))
		m.Set(k.RopeScalingFactor(), gguf.Float32(p.RopeScale))
	}
	if p.Family == FamilyChatGLM1 {
		m.Set(k.ResidualScale(), gguf.Float32(p.ResidualScale))
	}
	m.Set(KeyFamily, gguf.String(string(p.Family)))
	if p.PrefixLen > 0 {
		m.Set(KeyPrefixLength, gguf.Uint32(uint32(p.PrefixLen)))
	}
}

// ReadParams reads hyper-parameters back from a file's metadata; vocab comes from the tokens array or,
// for files without a tokenizer, from the embedding tensor.
func ReadParams(f *gguf.File) (Params, error) {
	m := f.Meta
	archName, err := m.String(KeyArchitecture)
	if err != nil {
		return Params{}, err
	}
	var p Params
	if archName != ChatGLM && archName != ChatGLM1 && archName != GLM4 {
		return Params{}, fmt.Errorf("architecture %q is not supported (want %s, %s or %s)", archName, ChatGLM, GLM4, ChatGLM1)
	}
	if p.Family, err = familyOf(m, archName); err != nil {
		return Params{}, err
	}
	k := KeysFor(archName)
	ints := []struct {
		key string
		dst *int
		opt bool
	}{
		{k.ContextLength(), &p.ContextLength, false}, {k.EmbeddingLength(), &p.Embedding, false},
		{k.FeedForwardLength(), &p.FeedForward, false}, {k.BlockCount(), &p.Blocks, false},
		{k.HeadCount(), &p.Heads, false}, {k.HeadCountKV(), &p.HeadsKV, true}, {k.RopeDimensionCount(), &p.RopeDims, true},
		{k.KeyLength(), &p.HeadSize, true},
	}
	for _, x := range ints {
		v, err := m.Int(x.key)
		if err != nil {
			if x.opt {
				continue
			}
			return Params{}, err
		}
		if v < 0 || v > 1<<30 {
			return Params{}, fmt.Errorf("key %q: %d is out of range", x.key, v)
		}
		*x.dst = int(v)
	}
	if p.HeadsKV == 0 {
		p.HeadsKV = p.Heads
	}
	if p.HeadSize > 0 {
		if v, err := m.Int(k.ValueLength()); err == nil && int(v) != p.HeadSize {
			return Params{}, fmt.Errorf("key %q: %d differs from the key length %d, which glmtool does not support", k.ValueLength(), v, p.HeadSize)
		}
		if p.Heads > 0 && p.HeadSize*p.Heads == p.Embedding {
			p.HeadSize = 0 // the default, stated
		}
	}
	if p.Heads > 0 && p.RopeDims == 0 {
		p.RopeDims = p.HeadDim() / 2
	}
	epsKey := k.RMSEpsilon()
	if p.Family == FamilyChatGLM1 {
		epsKey = k.LayerNormEpsilon()
	}
	if p.NormEpsilon, err = m.Float32(epsKey); err != nil {
		return Params{}, err
	}
	p.RopeFreqBase = 10000
	if v, err := m.Float32(k.RopeFreqBase()); err == nil {
		p.RopeFreqBase = v
	}
	if typ, err := m.String(k.RopeScalingType()); err == nil && typ == "linear" {
		if v, err := m.Float32(k.RopeScalingFactor()); err == nil {
			p.RopeScale = v
		}
	}
	if p.Family == FamilyChatGLM1 {
		if p.ResidualScale, err = m.Float32(k.ResidualScale()); err != nil {
			return Params{}, err
		}
	}
	if v, err := m.Int(KeyPrefixLength); err == nil {
		if v <= 0 || v > 1<<16 {
			return Params{}, fmt.Errorf("key %q: %d is out of range", KeyPrefixLength, v)
		}
		p.PrefixLen = int(v)
	}
	if toks, err := m.Strings(KeyTokens); err == nil {
		p.Vocab = len(toks)
	} else if t, ok := f.Tensor(TokenEmbd); ok && len(t.Shape) == 2 {
		p.Vocab = int(t.Shape[1])
	}
	return p, p.Validate()
}
