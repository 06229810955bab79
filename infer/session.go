package infer

import (
	"errors"
	"fmt"
	"math"

	"github.com/glmtool/glmtool/backend"
)

// KVType is the element type of the KV cache.
type KVType = backend.KVType

// KV cache types: F16 halves the memory (llama.cpp's default); F32 keeps results exact.
const (
	KVF16  = backend.KVF16
	KVF32  = backend.KVF32
	KVQ8_0 = backend.KVQ8_0
	KVQ4_0 = backend.KVQ4_0
)

// Session is one conversation: a KV cache sized to its context (held by the backend), and the tokens it
// holds.
type Session struct {
	m      *Model
	ctx    int
	kvDim  int
	kv     backend.KVCache
	tokens []int32

	// ChatGLM-6B's 2-D positions: the index of [gMASK] and of the first <sop> (-1 until seen).
	maskPos, ctxLen int

	// prefix is the number of P-tuning v2 prefix entries at the start of the cache (they have no token
	// and no position).
	prefix int

	st   backend.Stream // the session's activation buffers
	plan batchPlan      // the positions and attention spans of the session's last evaluation
}

// SetPrefix loads a P-tuning v2 prefix: for each layer, n key and n value vectors of the KV width, which
// every token then attends to. It empties the session. Sessions of a model whose file holds a prefix start
// with it.
func (s *Session) SetPrefix(keys, values [][]float32) error {
	if len(keys) != len(s.m.layers) || len(values) != len(s.m.layers) {
		return fmt.Errorf("prefix has %d/%d layers, the model %d", len(keys), len(values), len(s.m.layers))
	}
	n := len(keys[0]) / s.kvDim
	if n*s.kvDim != len(keys[0]) || n >= s.ctx {
		return fmt.Errorf("prefix of %d values does not fit a KV width of %d and a context of %d", len(keys[0]), s.kvDim, s.ctx)
	}
	s.Truncate(0)
	for l := range keys {
		if len(keys[l]) != n*s.kvDim || len(values[l]) != n*s.kvDim {
			return fmt.Errorf("prefix layer %d: %d/%d values, want %d", l, len(keys[l]), len(values[l]), n*s.kvDim)
		}
		for i := range n {
			s.kv.Store(l, i, keys[l][i*s.kvDim:(i+1)*s.kvDim], values[l][i*s.kvDim:(i+1)*s.kvDim])
		}
	}
	s.prefix = n
	return nil
}

// SetV1Layout fixes ChatGLM-6B's [gMASK] and <sop> indices for prompts whose ids are not the real
// vocabulary's (test models); normally they are found from the tokens.
func (s *Session) SetV1Layout(maskPos, ctxLen int) { s.maskPos, s.ctxLen = maskPos, ctxLen }

// ErrContextFull is returned when tokens do not fit the session's context.
var ErrContextFull = errors.New("context full")

// NewSession allocates a KV cache for ctx positions.
func (m *Model) NewSession(ctx int, kv KVType) (*Session, error) {
	if ctx <= 0 {
		return nil, fmt.Errorf("context size %d must be positive", ctx)
	}
	if ctx > m.Params.ContextLength {
		return nil, fmt.Errorf("context %d is larger than the model's maximum of %d", ctx, m.Params.ContextLength)
	}
	kvDim := m.Params.HeadsKV * m.Params.HeadDim()
	if (kv == KVQ8_0 || kv == KVQ4_0) && m.Params.HeadDim()%32 != 0 {
		return nil, fmt.Errorf("a %s KV cache needs a head width that is a multiple of 32; this model's is %d", kv, m.Params.HeadDim())
	}
	kvc, err := m.be.NewKV(len(m.layers), ctx, kvDim, kv)
	if err != nil {
		return nil, err
	}
	s := &Session{m: m, ctx: ctx, kvDim: kvDim, kv: kvc, maskPos: -1, ctxLen: -1, tokens: make([]int32, 0, ctx), st: m.be.NewStream()}
	if m.prefixK != nil {
		if err := s.SetPrefix(m.prefixK, m.prefixV); err != nil {
			return nil, fmt.Errorf("the model's P-Tuning prefix: %w", err)
		}
	}
	return s, nil
}

// Close releases the session's KV cache and activation buffers: on a GPU they are device memory, which
// the garbage collector does not reclaim. The session is not used after.
func (s *Session) Close() {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	if s.kv != nil {
		s.kv.Free()
		s.st.Free()
		s.kv = nil
	}
}

// Len is the number of tokens in the cache.
func (s *Session) Len() int { return len(s.tokens) }

// Context is the cache capacity.
func (s *Session) Context() int { return s.ctx }

// Tokens are the tokens in the cache.
func (s *Session) Tokens() []int32 { return s.tokens }

// Truncate drops every cached token from n on, so that a shared prefix can be kept and the rest re-fed.
// A P-Tuning prefix stays.
func (s *Session) Truncate(n int) {
	if n < len(s.tokens) {
		s.tokens = s.tokens[:n]
		if s.ctxLen >= n {
			s.ctxLen = -1
		}
		if s.maskPos >= n {
			s.maskPos = -1
		}
	}
}

// positions returns the (position, block position) of absolute index t (spec §3.1 for ChatGLM-6B; plain
// positions, divided by the interpolation factor later, for the others).
func (s *Session) positions(t int) (int, int) {
	if !s.m.graph.prefixLM() || s.ctxLen < 0 {
		return t, 0
	}
	if t < s.ctxLen {
		return t, 0
	}
	mp := s.maskPos
	if mp < 0 {
		mp = s.ctxLen - 1
	}
	return mp, t - s.ctxLen + 1
}

// noteSpecial records ChatGLM-6B's [gMASK] and <sop> positions as tokens arrive.
func (s *Session) noteSpecial(t int, id int32) {
	if !s.m.graph.prefixLM() || s.ctxLen >= 0 {
		return
	}
	if s.m.isToken(id, "[gMASK]", 130001) || (s.maskPos < 0 && s.m.isToken(id, "[MASK]", 130000)) {
		s.maskPos = t
	}
	if s.m.isToken(id, "<sop>", 130004) {
		s.ctxLen = t
	}
}

// isToken reports whether id is the named special token (by the vocabulary, or by its id in the real
// ChatGLM-6B vocabulary when the file has no tokenizer).
func (m *Model) isToken(id int32, piece string, realID int32) bool {
	if m.Tok != nil {
		want, ok := m.Tok.ID(piece)
		return ok && id == want
	}
	return id == realID
}

func isFinite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// visible is how many cache slots the token at index t sees while tokens up to total are cached: the
// P-tuning prefix and every token up to itself; ChatGLM-6B's context tokens see the whole context
// (prefix-LM, spec §3.1).
func (s *Session) visible(t, total int) int {
	limit := t + 1
	if s.m.graph.prefixLM() && s.ctxLen >= 0 && t < s.ctxLen {
		limit = max(limit, min(s.ctxLen, total))
	}
	return s.prefix + limit
}
