package cpu

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// coverage records which indices a loop's chunks covered, and in how many chunks.
type coverage struct {
	hits    []atomic.Int32
	workers int
	bad     atomic.Int32 // chunks out of range or empty, or a worker id out of range
	chunks  atomic.Int32
}

func (c *coverage) runRange(worker, start, end int) {
	if worker < 0 || worker >= c.workers || start < 0 || end > len(c.hits) || start >= end {
		c.bad.Add(1)
		return
	}
	for i := start; i < end; i++ {
		c.hits[i].Add(1)
	}
	c.chunks.Add(1)
}

// TestPoolSplit: at 1, 2, 3 and 16 workers (more than this machine's cores: the split must not depend on
// them), every loop covers each index exactly once in chunks that stay in range and go to workers that
// exist, in at most workers × 8 pieces (a piece of a product stays large) and at least as many pieces
// as workers where there are rows for all; loops keep working after the workers have parked between
// them.
func TestPoolSplit(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 16} {
		for _, n := range []int{1, 5, 15, 16, 17, 1000, 4096, 65024} {
			t.Run(fmt.Sprintf("%d workers, %d rows", workers, n), func(t *testing.T) {
				p := newPool(workers)
				defer p.close()
				for loop := range 3 {
					if loop == 2 {
						time.Sleep(20 * time.Millisecond) // long enough for the workers to park
					}
					c := &coverage{hits: make([]atomic.Int32, n), workers: workers}
					p.run(n, c)
					if c.bad.Load() != 0 {
						t.Fatalf("loop %d: %d chunks out of range or on a worker that does not exist", loop, c.bad.Load())
					}
					for i := range c.hits {
						if h := c.hits[i].Load(); h != 1 {
							t.Fatalf("loop %d: row %d run %d times", loop, i, h)
						}
					}
					chunks := int(c.chunks.Load())
					if most := workers * chunksPerWorker * 2; chunks > most { // the last piece may be short
						t.Errorf("loop %d: %d pieces for %d workers", loop, chunks, workers)
					}
					if n >= workers && chunks < workers {
						t.Errorf("loop %d: %d pieces for %d workers: some could not take part", loop, chunks, workers)
					}
				}
			})
		}
	}
}
