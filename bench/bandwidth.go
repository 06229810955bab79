package bench

import (
	"sync"
	"time"
)

// Bandwidth streams a buffer of size bytes (after touching it once) with threads readers and returns the
// best of three passes in bytes per second: the read bandwidth a memory-bound decoder can hope for.
func Bandwidth(size int64, threads int) float64 {
	threads = max(1, threads)
	words := make([]uint64, size/8)
	for i := range words {
		words[i] = uint64(i)
	}
	var best float64
	var sink uint64
	for range 3 {
		start := time.Now()
		var wg sync.WaitGroup
		sums := make([]uint64, threads)
		per := (len(words) + threads - 1) / threads
		for t := range threads {
			a, b := t*per, min(len(words), (t+1)*per)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var s0, s1, s2, s3 uint64
				w := words[a:b]
				for i := 0; i+3 < len(w); i += 4 {
					s0 += w[i]
					s1 += w[i+1]
					s2 += w[i+2]
					s3 += w[i+3]
				}
				sums[t] = s0 + s1 + s2 + s3
			}()
		}
		wg.Wait()
		for _, s := range sums {
			sink += s
		}
		best = max(best, float64(size)/time.Since(start).Seconds())
	}
	_ = sink
	return best
}
