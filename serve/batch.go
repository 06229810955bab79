package serve

import (
	"sync"
	"time"

	"github.com/glmtool/glmtool/infer"
)

// minGatherWait is the least time a decode step waits for the other decoding streams' steps to join its
// batch; it waits up to half the last batch's time when that is longer. Only streams already decoding
// are waited for, and the wait ends as soon as they are all in: between two steps a stream only samples
// (a few milliseconds over a 150 k vocabulary with top-p) and writes its token, so the timeout matters
// only for a stream held up writing to a slow client, which then joins the next step.
const minGatherWait = 10 * time.Millisecond

// batcher runs the decode steps of every stream as one batch (continuous batching): each weight is read
// once per step for all of them (infer.Model.DecodeBatch), which is what bounds decoding on a CPU. The
// first step to arrive leads: it waits until every decoding stream has its step in, or gatherWait, then
// evaluates them all and hands each its logits. The logits are exactly those of an unbatched step.
type batcher struct {
	m       *infer.Model
	mu      sync.Mutex
	pending []*stepRequest
	leading bool
	active  int           // streams in their decode phase
	arrived chan struct{} // a step was added (never blocks the adder)
	// batches and steps count what ran, for /metrics: steps ÷ batches is the mean batch size.
	batches, steps int64
	last           time.Duration // the last batch's evaluation time
}

type stepRequest struct {
	s      *infer.Session
	id     int32
	buf    []float32 // the stream's own row: DecodeBatch's rows are overwritten by the next batch
	done   chan struct{}
	logits []float32
	err    error
}

func newBatcher(m *infer.Model) *batcher { return &batcher{m: m, arrived: make(chan struct{}, 1)} }

// stream returns a stream's step function for infer.GenerateOptions.Step and its end, which must be called
// when the stream stops decoding.
func (b *batcher) stream(s *infer.Session) (step func(id int32) ([]float32, error), end func()) {
	started := false
	buf := make([]float32, b.m.Params.Vocab)
	step = func(id int32) ([]float32, error) {
		if !started {
			started = true
			b.mu.Lock()
			b.active++
			b.mu.Unlock()
		}
		return b.step(&stepRequest{s: s, id: id, buf: buf, done: make(chan struct{})})
	}
	end = func() {
		if started {
			b.mu.Lock()
			b.active--
			b.mu.Unlock()
			b.signal()
		}
	}
	return step, end
}

func (b *batcher) signal() {
	select {
	case b.arrived <- struct{}{}:
	default:
	}
}

func (b *batcher) step(r *stepRequest) ([]float32, error) {
	b.mu.Lock()
	b.pending = append(b.pending, r)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	b.signal()
	if !lead {
		<-r.done
		return r.logits, r.err
	}
	b.mu.Lock()
	wait := max(minGatherWait, b.last/2)
	b.mu.Unlock()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for waiting := true; waiting; {
		b.mu.Lock()
		full := len(b.pending) >= b.active
		b.mu.Unlock()
		if full {
			break
		}
		select {
		case <-b.arrived:
		case <-deadline.C:
			waiting = false
		}
	}
	b.mu.Lock()
	batch := b.pending
	b.pending, b.leading = nil, false
	b.mu.Unlock()
	b.run(batch)
	return r.logits, r.err
}

// run evaluates a batch and answers every step in it. Should the batch fail (one session's context is
// full), each step is evaluated alone, so that only its own stream sees its error.
func (b *batcher) run(batch []*stepRequest) {
	sessions := make([]*infer.Session, len(batch))
	ids := make([]int32, len(batch))
	for i, r := range batch {
		sessions[i], ids[i] = r.s, r.id
	}
	start := time.Now()
	rows, err := b.m.DecodeBatch(sessions, ids)
	b.mu.Lock()
	b.batches++
	b.steps += int64(len(batch))
	b.last = time.Since(start)
	b.mu.Unlock()
	for i, r := range batch {
		switch {
		case err == nil:
			r.logits = append(r.buf[:0], rows[i]...)
		default:
			out, e := r.s.Eval([]int32{r.id}, false)
			if r.err = e; e == nil {
				r.logits = append(r.buf[:0], out[0]...)
			}
		}
		close(r.done)
	}
}
