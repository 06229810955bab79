package infer

import (
	"sync"
	"sync/atomic"
)

// rangeFunc is a loop body over [start, end) run by one worker.
type rangeFunc interface {
	runRange(worker, start, end int)
}

// pool is a fixed set of goroutines that split loops over rows. It is created once per model; a parallel
// loop costs a few channel operations and no allocation: the loop body is an interface value pointing at a
// long-lived struct. Workers take chunks of the range from a shared counter until it is used up, so a core
// that is slowed down (by the other tenants of a VM, or a page fault) takes fewer chunks and all of them
// finish together.
type pool struct {
	n    int
	jobs []chan poolJob
	wg   sync.WaitGroup
	next atomic.Int64 // start of the next unclaimed chunk of the current loop
}

type poolJob struct {
	f        rangeFunc
	n, grain int
}

// chunksPerWorker is how many pieces each worker's share of a loop is cut into: enough to even out
// stragglers, few enough that a piece of a matmul is still hundreds of kilobytes of weights.
const chunksPerWorker = 8

func newPool(n int) *pool {
	p := &pool{n: max(1, n)}
	p.jobs = make([]chan poolJob, p.n-1)
	for w := range p.jobs {
		ch := make(chan poolJob)
		p.jobs[w] = ch
		go func() {
			for j := range ch {
				p.claim(w+1, j)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls f.runRange over contiguous chunks that cover [0, n) once, on up to p.n workers, and waits for
// all of them.
func (p *pool) run(n int, f rangeFunc) {
	if n <= 0 {
		return
	}
	workers := min(p.n, n)
	j := poolJob{f: f, n: n, grain: max(1, n/(workers*chunksPerWorker))}
	p.next.Store(0)
	p.wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		p.jobs[w-1] <- j
	}
	p.claim(0, j)
	p.wg.Wait()
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
	for _, ch := range p.jobs {
		close(ch)
	}
}
