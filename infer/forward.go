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
	b := s.plan.make([]seqPart{{s: s, start: start, n: len(tokens)}}, tokens)
	x := s.m.graph.forward(s.m, s.st, b)
	if !all {
		x = s.plan.lastRows(s.st, x)
	}
	s.m.graph.outputNorm(s.m, s.st, x)
	return x, nil
}

// logits multiplies final hidden states by the output matrix and brings them to the host, with the
// backend's error if any step of the pass failed (a device backend reports failures there). With alone,
// every row gets the bits it gets as a product of its own (the last rows of a batch's parts).
func (m *Model) logits(st backend.Stream, x backend.Acts, alone bool) ([][]float32, error) {
	logits := st.Acts(bufLogits, x.Rows(), m.Params.Vocab)
	var parts []int
	if alone && x.Rows() > 1 {
		parts = ones(x.Rows())
	}
	m.linear(st, logits, m.output, x, nil, parts)
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
// span of its session's KV cache. parts (nil for one session's rows) are the rows of each session, for
// the products: each session's rows get exactly what they get alone, so that batching never changes a
// reply.
type batch struct {
	tokens []int32
	pos    []backend.Position
	seqs   []backend.Seq
	parts  []int
}

// batchPlan keeps a batch's slices between evaluations, so that decoding allocates nothing.
type batchPlan struct {
	b    batch
	vis  []int
	last []int // the rows whose logits are wanted
}

// make lays out the batch of parts.
func (pl *batchPlan) make(parts []seqPart, tokens []int32) *batch {
	b := &pl.b
	// The ids are copied, not kept: a caller's slice must not escape into the session.
	b.tokens = append(b.tokens[:0], tokens...)
	b.pos, b.seqs, pl.vis, b.parts = b.pos[:0], b.seqs[:0], pl.vis[:0], b.parts[:0]
	for _, part := range parts {
		if len(parts) > 1 {
			b.parts = append(b.parts, part.n)
		}
		s, total := part.s, part.start+part.n
		for i := range part.n {
			pos, block := s.positions(part.start + i)
			b.pos = append(b.pos, backend.Position{Pos: int32(pos), Block: int32(block)})
			pl.vis = append(pl.vis, s.visible(part.start+i, total))
		}
		b.seqs = append(b.seqs, backend.Seq{Cache: s.kv, Rows: part.n, Slot: s.prefix + part.start})
	}
	if len(b.parts) == 0 {
		b.parts = nil
	}
	// Spans are cut once pl.vis has stopped growing (appending may have moved it).
	off := 0
	for i := range b.seqs {
		b.seqs[i].Visible = pl.vis[off : off+b.seqs[i].Rows]
		off += b.seqs[i].Rows
	}
	return b
}

// lastRows gathers the last row of each of the batch's sequences from x (all rows when each has one).
func (pl *batchPlan) lastRows(st backend.Stream, x backend.Acts) backend.Acts {
	if len(pl.b.seqs) == x.Rows() {
		return x
	}
	pl.last = pl.last[:0]
	end := 0
	for _, sq := range pl.b.seqs {
		end += sq.Rows
		pl.last = append(pl.last, end-1)
	}
	last := st.Acts(bufLast, len(pl.last), x.Width())
	st.CopyRows(last, x, pl.last)
	return last
}

// ones is n ones: the parts of a batch of n one-row parts.
func ones(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = 1
	}
	return p
}

// BatchPart is one session's tokens in a batch (Model.EvalBatch): a decode step's one token, or a chunk
// of a prompt.
type BatchPart struct {
	Session *Session
	Tokens  []int32
}

// EvalBatch feeds each part's tokens to its session (all of this model, each at most once) in one pass
// over the weights and returns the logits after each part's last token, exactly those Eval(part.Tokens)
// would give it: the batch is how several streams share the weight reads that bound decoding, and how a
// stream's decode steps go on while another's prompt is evaluated. The rows are valid until the next
// evaluation of the first part's session.
func (m *Model) EvalBatch(parts []BatchPart) ([][]float32, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("EvalBatch: no parts")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Every part is checked before any session is changed, so that a refused batch leaves them all as
	// they were.
	seen := make(map[*Session]bool, len(parts))
	rows := 0
	for i, p := range parts {
		if p.Session == nil || p.Session.m != m || seen[p.Session] {
			return nil, fmt.Errorf("EvalBatch: part %d's session is missing, another model's or appears twice", i)
		}
		seen[p.Session] = true
		if err := p.Session.check(p.Tokens); err != nil {
			return nil, fmt.Errorf("EvalBatch: part %d: %w", i, err)
		}
		rows += len(p.Tokens)
	}
	seqs := make([]seqPart, len(parts))
	tokens := make([]int32, 0, rows)
	for i, p := range parts {
		start, _ := p.Session.admit(p.Tokens) // checked above
		seqs[i] = seqPart{s: p.Session, start: start, n: len(p.Tokens)}
		tokens = append(tokens, p.Tokens...)
	}
	lead := parts[0].Session
	x := m.graph.forward(m, lead.st, lead.plan.make(seqs, tokens))
	x = lead.plan.lastRows(lead.st, x)
	m.graph.outputNorm(m, lead.st, x)
	logits, err := m.logits(lead.st, x, true)
	if err != nil {
		return nil, err
	}
	for i, lg := range logits {
		if !isFinite(lg) {
			return nil, fmt.Errorf("the logits of batch part %d are not finite (NaN or Inf): the model or its weights are broken", i)
		}
	}
	return logits, nil
}

// DecodeBatch feeds one token to each session (all of this model, each at most once) in one pass over
// the weights and returns each session's logits, exactly those Eval([]int32{id}) would give it
// (EvalBatch of one-token parts).
func (m *Model) DecodeBatch(sessions []*Session, ids []int32) ([][]float32, error) {
	if len(sessions) != len(ids) || len(sessions) == 0 {
		return nil, fmt.Errorf("DecodeBatch: %d sessions for %d tokens", len(sessions), len(ids))
	}
	parts := make([]BatchPart, len(sessions))
	for i, s := range sessions {
		parts[i] = BatchPart{Session: s, Tokens: ids[i : i+1]}
	}
	return m.EvalBatch(parts)
}
