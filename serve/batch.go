package serve

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/glmtool/glmtool/infer"
)

// minGatherWait is the least time a pass waits for the other decoding streams' steps to join it; it
// waits up to half the last decode pass's time when that is longer. Only streams already decoding are
// waited for, and the wait ends as soon as they are all in: between two steps a stream only samples (a
// few milliseconds over a 150 k vocabulary with top-p) and writes its token, so the timeout matters only
// for a stream held up writing to a slow client, which then joins the next pass.
const minGatherWait = 10 * time.Millisecond

// promptRows is the most prompt tokens one pass takes: infer's prompt chunk, so that a prompt is cut
// where evaluating it alone cuts it (its bits are the same either way), and a running stream waits at
// most one chunk's evaluation for its next token however many prompts arrive.
const promptRows = infer.PromptChunk

// batcher runs the evaluation of every stream, prompt chunks and decode steps alike, as shared passes
// over the weights (continuous batching, infer.Model.EvalBatch): each weight is read once per pass for
// all of them, which is what bounds decoding on a CPU, and prompts that arrive together are evaluated
// together while the streams already running go on decoding in the same passes. Whoever submits work
// while no pass is running leads: it runs passes (each waits until every decoding stream has its step in,
// or the gather wait) until its own work is answered, then hands the lead to the oldest waiting work.
// Every stream gets exactly the logits it would get evaluated alone.
type batcher struct {
	m       *infer.Model
	mu      sync.Mutex
	pending []*work // not answered yet, in arrival order
	leading bool
	active  int           // streams in their decode phase
	arrived chan struct{} // work was added or a stream ended (never blocks the sender)
	// batches and steps count the passes with decode steps and those steps, for /metrics: steps ÷
	// batches is the mean batch size. chunks counts prompt chunks, beside those that shared their pass
	// with decode steps.
	batches, steps, chunks, beside int64
	last                           time.Duration // the last pass's evaluation time, without prompt chunks
}

// work is one stream's request to the batcher: a decode step (one token) or a prompt (the tokens left to
// evaluate, a chunk per pass).
type work struct {
	ctx    context.Context // a prompt's request: a cancelled prompt is dropped between its chunks
	s      *infer.Session
	tokens []int32
	prompt bool
	buf    []float32     // the stream's own row: EvalBatch's rows are overwritten by the next pass
	done   chan struct{} // closed when answered
	lead   chan struct{} // one token: this work's goroutine runs the passes from now on
	// answered is written by the leader before done is closed and read by the leader.
	answered bool
	logits   []float32
	err      error
}

func newBatcher(m *infer.Model) *batcher { return &batcher{m: m, arrived: make(chan struct{}, 1)} }

// stream returns the evaluation functions of one stream, for infer.GenerateOptions.Prompt and Step, and
// its end, which must be called when the stream stops.
func (b *batcher) stream(s *infer.Session) (prompt func(ctx context.Context, tokens []int32) ([]float32, error),
	step func(id int32) ([]float32, error), end func()) {
	decoding := false
	buf := make([]float32, b.m.Params.Vocab)
	// From its prompt's logits on, a stream is decoding: the passes wait for its steps.
	startDecoding := func() {
		if !decoding {
			decoding = true
			b.mu.Lock()
			b.active++
			b.mu.Unlock()
		}
	}
	prompt = func(ctx context.Context, tokens []int32) ([]float32, error) {
		logits, err := b.submit(&work{ctx: ctx, s: s, tokens: tokens, prompt: true, buf: buf})
		if err == nil {
			startDecoding()
		}
		return logits, err
	}
	step = func(id int32) ([]float32, error) {
		startDecoding()
		return b.submit(&work{s: s, tokens: []int32{id}, buf: buf})
	}
	end = func() {
		if decoding {
			b.mu.Lock()
			b.active--
			b.mu.Unlock()
			b.signal()
		}
	}
	return prompt, step, end
}

func (b *batcher) signal() {
	select {
	case b.arrived <- struct{}{}:
	default:
	}
}

// submit adds w and returns its logits once a pass has answered it, leading the passes meanwhile if no
// one else does.
func (b *batcher) submit(w *work) ([]float32, error) {
	w.done, w.lead = make(chan struct{}), make(chan struct{}, 1)
	b.mu.Lock()
	b.pending = append(b.pending, w)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	b.signal()
	if !lead {
		select {
		case <-w.done:
			return w.logits, w.err
		case <-w.lead:
		}
	}
	for !w.answered {
		b.gather()
		b.run(b.take())
	}
	b.mu.Lock()
	if len(b.pending) > 0 {
		b.pending[0].lead <- struct{}{} // unanswered, so its goroutine waits and takes the lead
	} else {
		b.leading = false
	}
	b.mu.Unlock()
	return w.logits, w.err
}

// gather waits until every decoding stream has its step in, or the gather wait.
func (b *batcher) gather() {
	b.mu.Lock()
	wait := max(minGatherWait, b.last/2)
	b.mu.Unlock()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		b.mu.Lock()
		steps := 0
		for _, w := range b.pending {
			if !w.prompt {
				steps++
			}
		}
		full := steps >= b.active
		b.mu.Unlock()
		if full {
			return
		}
		select {
		case <-b.arrived:
		case <-deadline.C:
			return
		}
	}
}

// passPart is one work's tokens in a pass.
type passPart struct {
	w      *work
	tokens []int32
}

// take chooses the next pass: every pending decode step, and prompts' next chunks in arrival order while
// they fit in promptRows (the first always). A prompt whose request was cancelled is answered with its
// error instead.
func (b *batcher) take() []passPart {
	b.mu.Lock()
	defer b.mu.Unlock()
	var pass []passPart
	rows := 0
	full := false
	for _, w := range b.pending {
		if !w.prompt {
			pass = append(pass, passPart{w: w, tokens: w.tokens})
			continue
		}
		if err := w.ctx.Err(); err != nil {
			w.err = err
			b.answer(w)
			continue
		}
		chunk := w.tokens[:min(len(w.tokens), promptRows)]
		if full || rows > 0 && rows+len(chunk) > promptRows {
			full = true // later prompts wait their turn: arrival order
			continue
		}
		pass = append(pass, passPart{w: w, tokens: chunk})
		rows += len(chunk)
	}
	b.pending = slices.DeleteFunc(b.pending, func(w *work) bool { return w.answered })
	return pass
}

// answer marks w answered and wakes its goroutine (the caller holds mu or is the leader).
func (b *batcher) answer(w *work) {
	w.answered = true
	close(w.done)
}

// run evaluates a pass and answers the work it completes. Should the pass be refused because one
// session's context is full, each part is evaluated alone, so that only its own stream sees the error.
func (b *batcher) run(pass []passPart) {
	if len(pass) == 0 {
		return
	}
	parts := make([]infer.BatchPart, len(pass))
	steps := 0
	for i, p := range pass {
		parts[i] = infer.BatchPart{Session: p.w.s, Tokens: p.tokens}
		if !p.w.prompt {
			steps++
		}
	}
	start := time.Now()
	rows, err := b.m.EvalBatch(parts)
	took := time.Since(start)
	alone := errors.Is(err, infer.ErrContextFull)
	b.mu.Lock()
	if steps > 0 {
		b.batches++
		b.steps += int64(steps)
	}
	if chunks := int64(len(pass) - steps); chunks > 0 {
		b.chunks += chunks
		if steps > 0 {
			b.beside += chunks
		}
	} else {
		b.last = took
	}
	for i, p := range pass {
		w := p.w
		var row []float32
		switch {
		case err == nil:
			row = rows[i]
		case alone:
			out, e := w.s.Eval(p.tokens, false)
			if w.err = e; e == nil {
				row = out[0]
			}
		default:
			w.err = err
		}
		if w.err == nil && w.prompt {
			if w.tokens = w.tokens[len(p.tokens):]; len(w.tokens) > 0 {
				continue // more chunks in the next passes
			}
		}
		if w.err == nil {
			w.logits = append(w.buf[:0], row...)
		}
		b.answer(w)
	}
	b.pending = slices.DeleteFunc(b.pending, func(w *work) bool { return w.answered })
	b.mu.Unlock()
}
