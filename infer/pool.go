package infer

import "sync"

// pool is a fixed set of goroutines that split loops over rows. It is created once per model, so a matrix
// product costs a few channel operations, not goroutine launches.
type pool struct {
	n    int
	jobs []chan func(worker int)
	wg   sync.WaitGroup
}

func newPool(n int) *pool {
	p := &pool{n: max(1, n)}
	p.jobs = make([]chan func(int), p.n-1)
	for w := range p.jobs {
		ch := make(chan func(int))
		p.jobs[w] = ch
		go func() {
			for f := range ch {
				f(w + 1)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls f(worker, start, end) over [0, n) split into p.n contiguous ranges, and waits.
func (p *pool) run(n int, f func(worker, start, end int)) {
	if n <= 0 {
		return
	}
	parts := min(p.n, n)
	per := (n + parts - 1) / parts
	p.wg.Add(parts - 1)
	for w := 1; w < parts; w++ {
		a, b := w*per, min(n, (w+1)*per)
		p.jobs[w-1] <- func(worker int) {
			if a < b {
				f(worker, a, b)
			}
		}
	}
	f(0, 0, min(n, per))
	p.wg.Wait()
}

func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
}
