package infer

import "sync"

// rangeFunc is a loop body over [start, end) run by one worker.
type rangeFunc interface {
	runRange(worker, start, end int)
}

// pool is a fixed set of goroutines that split loops over rows. It is created once per model; a parallel
// loop costs a few channel operations and no allocation: the loop body is an interface value pointing at a
// long-lived struct, and the per-worker ranges travel by value.
type pool struct {
	n    int
	jobs []chan poolJob
	wg   sync.WaitGroup
}

type poolJob struct {
	f          rangeFunc
	start, end int
}

func newPool(n int) *pool {
	p := &pool{n: max(1, n)}
	p.jobs = make([]chan poolJob, p.n-1)
	for w := range p.jobs {
		ch := make(chan poolJob)
		p.jobs[w] = ch
		go func() {
			for j := range ch {
				j.f.runRange(w+1, j.start, j.end)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls f.runRange over [0, n) split into at most p.n contiguous ranges, and waits for all of them.
func (p *pool) run(n int, f rangeFunc) {
	if n <= 0 {
		return
	}
	parts := min(p.n, n)
	per := (n + parts - 1) / parts
	p.wg.Add(parts - 1)
	for w := 1; w < parts; w++ {
		p.jobs[w-1] <- poolJob{f: f, start: w * per, end: min(n, (w+1)*per)}
	}
	f.runRange(0, 0, min(n, per))
	p.wg.Wait()
}

func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
}
