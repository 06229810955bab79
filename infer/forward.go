package infer

import (
	"fmt"

	"github.com/glmtool/glmtool/backend"
)

// Eval feeds tokens after those already cached and returns the logits after the last one. With all set,
// it returns the logits after every fed token (for perplexity and log-prob checks). The returned rows are
// the session's buffers: they stay valid until the next call.
func (s *Session) Eval(tokens []int32, all bool) ([][]float32, error) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	x, err := s.hidden(tokens, all)
	if err != nil {
		return nil, err
	}
	logits, err := s.m.logits(s.st, x, false)
	if err != nil {
		return nil, err
	}
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
	x, err := s.hidden(tokens, all)
	if err != nil {
		return nil, err
	}
	return s.st.Host(x)
}

func (s *Session) hidden(tokens []int32, all bool) (backend.Acts, error) {
	start, err := s.admit(tokens)
	if err != nil {
		return nil, err
	}
	b := s.plan.make([]seqPart{{s: s, start: start, n: len(tokens)}}, tokens, false)
	x := s.m.graph.forward(s.m, s.st, b)
	if !all {
		last := s.st.Acts(bufLast, 1, x.Width())
		s.st.CopyRows(last, x, x.Rows()-1)
		x = last
	}
	s.m.graph.outputNorm(s.m, s.st, x)
	return x, nil
}

// logits multiplies final hidden states by the output matrix and brings them to the host, with the
// backend's error if any step of the pass failed (a device backend reports failures there).
func (m *Model) logits(st backend.Stream, x backend.Acts, rowExact bool) ([][]float32, error) {
	logits := st.Acts(bufLogits, x.Rows(), m.Params.Vocab)
	m.linear(st, logits, m.output, x, nil, rowExact)
	rows, err := st.Host(logits)
	if err != nil {
		return nil, fmt.Errorf("%s backend: %w", m.be.Name(), err)
	}
	return rows, nil
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

// batch is what a graph evaluates: token rows (part after part), each row's position, and each part's
// span of its session's KV cache. With rowExact (a batch of several sessions' decode steps) the products
// give every row exactly what it gets alone, so that batching never changes a reply.
type batch struct {
	tokens   []int32
	pos      []backend.Position
	seqs     []backend.Seq
	rowExact bool
}

// batchPlan keeps a batch's slices between evaluations, so that decoding allocates nothing.
type batchPlan struct {
	b   batch
	vis []int
}

// make lays out the batch of parts.
func (pl *batchPlan) make(parts []seqPart, tokens []int32, rowExact bool) *batch {
	b := &pl.b
	// The ids are copied, not kept: a caller's slice must not escape into the session.
	b.tokens, b.rowExact = append(b.tokens[:0], tokens...), rowExact
	b.pos, b.seqs, pl.vis = b.pos[:0], b.seqs[:0], pl.vis[:0]
	for _, part := range parts {
		s, total := part.s, part.start+part.n
		for i := range part.n {
			pos, block := s.positions(part.start + i)
			b.pos = append(b.pos, backend.Position{Pos: int32(pos), Block: int32(block)})
			pl.vis = append(pl.vis, s.visible(part.start+i, total))
		}
		b.seqs = append(b.seqs, backend.Seq{Cache: s.kv, Rows: part.n, Slot: s.prefix + part.start})
	}
	// Spans are cut once pl.vis has stopped growing (appending may have moved it).
	off := 0
	for i := range b.seqs {
		b.seqs[i].Visible = pl.vis[off : off+b.seqs[i].Rows]
		off += b.seqs[i].Rows
	}
	return b
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
	lead := sessions[0]
	x := m.graph.forward(m, lead.st, lead.plan.make(parts, ids, true))
	m.graph.outputNorm(m, lead.st, x)
	logits, err := m.logits(lead.st, x, true)
	if err != nil {
		return nil, err
	}
	for i, lg := range logits {
		if !isFinite(lg) {
			return nil, fmt.Errorf("the logits of batch row %d are not finite (NaN or Inf): the model or its weights are broken", i)
		}
	}
	return logits, nil
}
