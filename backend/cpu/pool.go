package cpu

import (
	"runtime"
	"sync/atomic"
)

// rangeFunc is a loop body over [start, end) run by one worker.
type rangeFunc interface {
	runRange(worker, start, end int)
}

// pool is a fixed set of goroutines that split loops over rows. It is created once per model. A loop is
// published by bumping a generation counter; workers spin on it for a short while before they park, so
// the hundred-odd loops of a decoded token do not each pay for waking a sleeping thread (tens of
// microseconds on a VM). Workers take chunks of the range from a shared counter until it is used up, so
// a core that is slowed down (by the other tenants of a VM, or a page fault) takes fewer chunks and all
// of them finish together. Nothing is allocated per loop: the body is an interface value pointing at a
// long-lived struct.
type pool struct {
	n      int
	gen    atomic.Uint64 // the current loop's number; workers wait for it to change
	job    poolJob       // the current loop, written before gen is bumped
	next   atomic.Int64  // start of the next unclaimed chunk of the current loop
	done   atomic.Int64  // workers finished with the current loop
	closed atomic.Bool
	parked []atomic.Bool   // worker i+1 is asleep on wake[i]
	wake   []chan struct{} // one token wakes a parked worker
}

type poolJob struct {
	f        rangeFunc
	n, grain int
}

const (
	// chunksPerWorker is how many pieces each worker's share of a loop is cut into: enough to even out
	// stragglers, few enough that a piece of a matmul is still hundreds of kilobytes of weights.
	chunksPerWorker = 8
	// spinChecks is how many times a waiting worker looks at the counter (yielding between looks)
	// before it parks: tens of microseconds, about the gap between two loops of a decoded token.
	spinChecks = 2000
)

func newPool(n int) *pool {
	p := &pool{n: max(1, n)}
	p.parked = make([]atomic.Bool, p.n-1)
	p.wake = make([]chan struct{}, p.n-1)
	for w := range p.wake {
		p.wake[w] = make(chan struct{}, 1)
		go p.worker(w)
	}
	return p
}

func (p *pool) worker(w int) {
	var seen uint64
	for {
		seen = p.await(w, seen)
		if p.closed.Load() {
			return
		}
		p.claim(w+1, p.job)
		p.done.Add(1)
	}
}

// await returns the first generation after seen, spinning and then parking.
func (p *pool) await(w int, seen uint64) uint64 {
	for i := 0; ; i++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if i < spinChecks {
			runtime.Gosched()
			continue
		}
		p.parked[w].Store(true)
		if g := p.gen.Load(); g != seen { // published between the last look and parking
			p.parked[w].Store(false)
			return g
		}
		<-p.wake[w]
		p.parked[w].Store(false)
		i = 0
	}
}

// publish starts the next generation and wakes the workers that parked.
func (p *pool) publish() {
	p.gen.Add(1)
	for w := range p.wake {
		if p.parked[w].Load() {
			select {
			case p.wake[w] <- struct{}{}:
			default: // a token is already waiting
			}
		}
	}
}

// run calls f.runRange over contiguous chunks that cover [0, n) once, on up to p.n workers, and waits for
// all of them.
func (p *pool) run(n int, f rangeFunc) {
	if n <= 0 {
		return
	}
	j := poolJob{f: f, n: n, grain: max(1, n/(min(p.n, n)*chunksPerWorker))}
	if p.n == 1 {
		f.runRange(0, 0, n)
		return
	}
	p.job = j
	p.next.Store(0)
	p.done.Store(0)
	p.publish()
	p.claim(0, j)
	for p.done.Load() < int64(p.n-1) {
		runtime.Gosched()
	}
}

func (p *pool) claim(worker int, j poolJob) {
	for {
		start := int(p.next.Add(int64(j.grain))) - j.grain
		if start >= j.n {
			return
		}
		j.f.runRange(worker, start, min(j.n, start+j.grain))
	}
}

func (p *pool) close() {
	p.closed.Store(true)
	p.publish()
}
