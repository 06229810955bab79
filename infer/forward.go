package infer

import (
	"fmt"
	"math"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/tensor"
)

// Eval feeds tokens after those already cached and returns the logits after the last one. With all set,
// it returns the logits after every fed token (for perplexity and log-prob checks). The returned rows are
// the session's buffers: they stay valid until the next call.
func (s *Session) Eval(tokens []int32, all bool) ([][]float32, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	outRows, err := s.hidden(tokens, all)
	if err != nil {
		return nil, err
	}
	logits := s.ws.grow(&s.ws.logits, len(outRows), s.m.Params.Vocab)
	s.m.matmul(s.m.output, outRows, nil, logits, &s.ws, false)
	start := len(s.tokens) - len(tokens)
	for i, lg := range logits {
		if !isFinite(lg) {
			return nil, fmt.Errorf("the logits after token %d are not finite (NaN or Inf): the model or its weights are broken", start+len(tokens)-len(logits)+i)
		}
	}
	return logits, nil
}

// Hidden is Eval without the output layer: the final hidden states, after the final norm.
func (s *Session) Hidden(tokens []int32, all bool) ([][]float32, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	return s.hidden(tokens, all)
}

func (s *Session) hidden(tokens []int32, all bool) ([][]float32, error) {
	start, err := s.admit(tokens)
	if err != nil {
		return nil, err
	}
	x := s.m.forward([]seqPart{{s: s, start: start, n: len(tokens)}}, tokens, &s.ws)
	if !all {
		x = x[len(x)-1:]
	}
	s.m.finalNorm(x)
	return x, nil
}

// admit checks tokens (check), notes ChatGLM-6B's special positions and appends them to the session's
// tokens; it returns the position of the first.
func (s *Session) admit(tokens []int32) (int, error) {
	if err := s.check(tokens); err != nil {
		return 0, err
	}
	start := len(s.tokens)
	for i, id := range tokens {
		s.noteSpecial(start+i, id)
	}
	s.tokens = append(s.tokens, tokens...)
	return start, nil
}

// check reports tokens that cannot be evaluated: none, more than the context has room for, or an id
// outside the vocabulary.
func (s *Session) check(tokens []int32) error {
	if len(tokens) == 0 {
		return fmt.Errorf("no tokens to evaluate")
	}
	if s.prefix+len(s.tokens)+len(tokens) > s.ctx {
		return fmt.Errorf("%w: %d cached + %d new tokens exceed the context of %d", ErrContextFull, len(s.tokens), len(tokens), s.ctx)
	}
	for _, id := range tokens {
		if id < 0 || int(id) >= s.m.Params.Vocab {
			return fmt.Errorf("token id %d is outside the vocabulary of %d", id, s.m.Params.Vocab)
		}
	}
	return nil
}

// seqPart is a run of n consecutive rows of a forward pass that belong to one session, from its position
// start.
type seqPart struct {
	s        *Session
	start, n int
}

// forward runs the layers over the rows of every part (tokens holds their ids, part after part) and
// returns the hidden states before the final norm, in ws. Rows meet in every matrix product, so a batch of
// sessions reads each weight once; attention is each session's own. With several parts (a batch of
// decode steps) the products use four-token kernels only where those give each row exactly what the
// one-token kernel gives it (tensor.FourTokensExact), and the one-token kernel per row elsewhere, so that
// every session gets the same numbers as when it is evaluated alone.
func (m *Model) forward(parts []seqPart, tokens []int32, ws *workspace) [][]float32 {
	p := m.Params
	batch := len(parts) > 1
	n, e := len(tokens), p.Embedding
	x := ws.grow(&ws.x, n, e)
	for i, id := range tokens {
		m.tokEmbd.row(int(id), x[i])
	}
	h := ws.grow(&ws.h, n, e)
	qkv := ws.grow(&ws.qkv, n, p.QKVRows())
	att := ws.grow(&ws.att, n, e)
	proj := ws.grow(&ws.proj, n, e)
	up := ws.grow(&ws.up, n, p.FFNUpRows())
	act := ws.grow(&ws.act, n, p.FeedForward)
	v1 := p.Family == arch.FamilyChatGLM1
	for l, ly := range m.layers {
		for i := range n {
			if v1 {
				layerNorm(h[i], x[i], ly.attnNorm, ly.attnNormB, p.NormEpsilon)
			} else {
				rmsNorm(h[i], x[i], ly.attnNorm, p.NormEpsilon)
			}
		}
		m.matmul(ly.qkv, h, ly.qkvB, qkv, ws, batch)
		off := 0
		for _, part := range parts {
			part.s.attention(l, part.start, qkv[off:off+part.n], att[off:off+part.n])
			off += part.n
		}
		m.matmul(ly.attnOut, att, ly.attnOutB, proj, ws, batch)
		for i := range n {
			if v1 {
				// spec §3.1: the residual is the normalized input times α.
				for j := range x[i] {
					x[i][j] = h[i][j]*p.ResidualScale + proj[i][j]
				}
				layerNorm(h[i], x[i], ly.ffnNorm, ly.ffnNormB, p.NormEpsilon)
			} else {
				for j := range x[i] {
					x[i][j] += proj[i][j]
				}
				rmsNorm(h[i], x[i], ly.ffnNorm, p.NormEpsilon)
			}
		}
		m.matmul(ly.up, h, ly.upB, up, ws, batch)
		for i := range n {
			if v1 {
				for j := range act[i] {
					act[i][j] = geluTanh(up[i][j])
				}
			} else {
				ff := p.FeedForward
				for j := range act[i] {
					act[i][j] = silu(up[i][j]) * up[i][ff+j]
				}
			}
		}
		m.matmul(ly.down, act, ly.downB, proj, ws, batch)
		for i := range n {
			if v1 {
				for j := range x[i] {
					x[i][j] = h[i][j]*p.ResidualScale + proj[i][j]
				}
			} else {
				for j := range x[i] {
					x[i][j] += proj[i][j]
				}
			}
		}
	}
	return x
}

// finalNorm applies the output norm to rows in place.
func (m *Model) finalNorm(rows [][]float32) {
	p := m.Params
	for i := range rows {
		if p.Family == arch.FamilyChatGLM1 {
			layerNorm(rows[i], rows[i], m.outNorm, m.outNormB, p.NormEpsilon)
		} else {
			rmsNorm(rows[i], rows[i], m.outNorm, p.NormEpsilon)
		}
	}
}

// DecodeBatch feeds one token to each session (all of this model, each at most once) in one pass over
// the weights and returns each session's logits, exactly those Eval([]int32{id}) would give it: the
// batch is how several streams share the weight reads that bound decoding. The rows are valid until the
// next evaluation of the first session.
func (m *Model) DecodeBatch(sessions []*Session, ids []int32) ([][]float32, error) {
	if len(sessions) != len(ids) || len(sessions) == 0 {
		return nil, fmt.Errorf("DecodeBatch: %d sessions for %d tokens", len(sessions), len(ids))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Every session is checked before any is changed, so that a refused batch leaves them all as they were.
	seen := map[*Session]bool{}
	for i, s := range sessions {
		if s.m != m || seen[s] {
			return nil, fmt.Errorf("DecodeBatch: session %d is another model's or appears twice", i)
		}
		seen[s] = true
		if err := s.check(ids[i : i+1]); err != nil {
			return nil, fmt.Errorf("DecodeBatch: session %d: %w", i, err)
		}
	}
	parts := make([]seqPart, len(sessions))
	for i, s := range sessions {
		start, _ := s.admit(ids[i : i+1]) // checked above
		parts[i] = seqPart{s: s, start: start, n: 1}
	}
	ws := &sessions[0].ws
	x := m.forward(parts, ids, ws)
	m.finalNorm(x)
	logits := ws.grow(&ws.logits, len(x), m.Params.Vocab)
	m.matmul(m.output, x, nil, logits, ws, true)
	for i, lg := range logits {
		if !isFinite(lg) {
			return nil, fmt.Errorf("the logits of batch row %d are not finite (NaN or Inf): the model or its weights are broken", i)
		}
	}
	return logits, nil
}

// workspace holds a session's activation buffers. They grow to the largest batch seen and are reused, so
// decoding a token allocates nothing.
type workspace struct {
	x, h, qkv, att, proj, up, act, q, logits [][]float32
	kbuf, vbuf                               []float32
	q8                                       []byte // activations quantized to Q8_K
	acts                                     tensor.Q8Acts
	quant                                    quantJob
	scores, kb, vb                           [][]float32 // per worker
	mm                                       matmulJob
	attn                                     attentionJob
}

// grow returns buf as n rows of width, reallocating only when it is too small.
func (w *workspace) grow(buf *[][]float32, n, width int) [][]float32 {
	if len(*buf) >= n && (n == 0 || cap((*buf)[0]) >= width) {
		for i := range n {
			(*buf)[i] = (*buf)[i][:width]
		}
		return (*buf)[:n]
	}
	flat := make([]float32, n*width)
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*width : (i+1)*width : (i+1)*width]
	}
	*buf = out
	return out
}

// attention splits qkv rows into heads, applies RoPE, appends K and V to the cache and attends over it
// (causal; ChatGLM-6B also lets every context token see the whole context).
func (s *Session) attention(l, start int, qkv, out [][]float32) {
	m := s.m
	p := m.Params
	hd := p.HeadDim()
	heads, kvHeads := p.Heads, p.HeadsKV
	v1 := p.Family == arch.FamilyChatGLM1
	n := len(qkv)
	kvDim := kvHeads * hd
	ws := &s.ws
	q := ws.grow(&ws.q, n, heads*hd)
	if len(ws.kbuf) < kvDim {
		ws.kbuf, ws.vbuf = make([]float32, kvDim), make([]float32, kvDim)
	}
	kbuf, vbuf := ws.kbuf[:kvDim], ws.vbuf[:kvDim]
	if len(ws.scores) == 0 {
		ws.scores = make([][]float32, m.threads)
		ws.kb = make([][]float32, m.threads)
		ws.vb = make([][]float32, m.threads)
		for w := range ws.scores {
			ws.scores[w] = make([]float32, attnHeadsPerJob*s.ctx)
			ws.kb[w] = make([]float32, hd)
			ws.vb[w] = make([]float32, hd)
		}
	}
	for i := range n {
		t := start + i
		pos, block := s.positions(t)
		row := qkv[i]
		for h := range heads {
			var qh, kh, vh []float32
			if v1 {
				// spec §2.4: per head [q | k | v], 128 each.
				base := h * 3 * hd
				qh, kh, vh = row[base:base+hd], row[base+hd:base+2*hd], row[base+2*hd:base+3*hd]
			} else {
				qh = row[h*hd : (h+1)*hd]
			}
			copy(q[i][h*hd:], qh)
			if v1 {
				copy(kbuf[h*hd:], kh)
				copy(vbuf[h*hd:], vh)
			}
		}
		if !v1 {
			copy(kbuf, row[heads*hd:heads*hd+kvDim])
			copy(vbuf, row[heads*hd+kvDim:heads*hd+2*kvDim])
		}
		for h := range heads {
			s.rope(q[i][h*hd:(h+1)*hd], pos, block)
		}
		for g := range kvHeads {
			s.rope(kbuf[g*hd:(g+1)*hd], pos, block)
		}
		s.storeKV(l, s.prefix+t, kbuf, vbuf)
	}
	total := start + n
	scale := float32(1 / math.Sqrt(float64(hd)))
	perJob := headsPerJob(heads / kvHeads)
	ws.attn = attentionJob{s: s, l: l, start: start, total: total, q: q, out: out, scale: scale, perJob: perJob}
	m.pool.run(n*heads/perJob, &ws.attn)
}

// attnHeadsPerJob is the most query heads one attention job takes. The heads of a job share a KV head
// (grouped-query attention), so each cached key and value row is read, and converted from fp16, once
// for all of them instead of once per head; four keeps eight jobs per token for ChatGLM3's two KV heads.
const attnHeadsPerJob = 4

// headsPerJob is the largest divisor of the query heads per KV head that is at most attnHeadsPerJob.
func headsPerJob(group int) int {
	for d := min(group, attnHeadsPerJob); d > 1; d-- {
		if group%d == 0 {
			return d
		}
	}
	return 1
}

// attentionJob attends one token and perJob query heads of one KV head per index: scores over the cache,
// softmax, weighted values.
type attentionJob struct {
	s            *Session
	l            int
	start, total int
	q, out       [][]float32
	scale        float32
	perJob       int
}

func (j *attentionJob) runRange(worker, a, b int) {
	s := j.s
	p := s.m.Params
	hd, heads := p.HeadDim(), p.Heads
	group := heads / p.HeadsKV
	v1 := p.Family == arch.FamilyChatGLM1
	ws := &s.ws
	scores, kb, vb := ws.scores[worker], ws.kb[worker], ws.vb[worker]
	jobsPerToken := heads / j.perJob
	for job := a; job < b; job++ {
		i, h0 := job/jobsPerToken, job%jobsPerToken*j.perJob
		t := j.start + i
		limit := t + 1
		if v1 && s.ctxLen >= 0 && t < s.ctxLen {
			limit = max(limit, min(s.ctxLen, j.total)) // prefix-LM: the context is bidirectional
		}
		g := h0 / group
		// A P-tuning prefix occupies the first cache slots and is visible to every token.
		nk := s.prefix + limit
		for k := range nk {
			key := s.key(j.l, k, g, hd, kb)
			for e := range j.perJob {
				h := h0 + e
				scores[e*s.ctx+k] = tensor.DotF32(j.q[i][h*hd:(h+1)*hd], key) * j.scale
			}
		}
		for e := range j.perJob {
			softmax(scores[e*s.ctx : e*s.ctx+nk])
			clear(j.out[i][(h0+e)*hd : (h0+e+1)*hd])
		}
		for k := range nk {
			val := s.value(j.l, k, g, hd, vb)
			for e := range j.perJob {
				h := h0 + e
				tensor.Axpy(scores[e*s.ctx+k], val, j.out[i][h*hd:(h+1)*hd])
			}
		}
	}
}

// rope rotates one head vector in place (spec §3.3).
func (s *Session) rope(x []float32, pos, block int) {
	p := s.m.Params
	theta := s.m.ropeTheta
	if p.Family == arch.FamilyChatGLM1 {
		half := len(x) / 2
		rotateHalf(x[:half], float64(pos), theta)
		rotateHalf(x[half:], float64(block), theta)
		return
	}
	fp := float64(pos)
	if p.RopeScale > 1 {
		fp /= float64(p.RopeScale) // chatglm2-6b-32k: position interpolation
	}
	for i, th := range theta {
		ang := float64(float32(fp) * th)
		c, sn := float32(math.Cos(ang)), float32(math.Sin(ang))
		a, b := x[2*i], x[2*i+1]
		x[2*i] = a*c - b*sn
		x[2*i+1] = b*c + a*sn
	}
}

// rotateHalf is GPT-NeoX rotation on a half-head of ChatGLM-6B: pairs (j, j+d/2).
func rotateHalf(x []float32, pos float64, theta []float32) {
	d := len(x) / 2
	for j := range d {
		ang := float64(float32(pos) * theta[j])
		c, sn := float32(math.Cos(ang)), float32(math.Sin(ang))
		a, b := x[j], x[j+d]
		x[j] = a*c - b*sn
		x[j+d] = b*c + a*sn
	}
}
