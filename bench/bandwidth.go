package bench

import (
	"sync"
	"time"

	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// Bandwidth measures the memory read bandwidth a decoder can reach: threads readers each stream their
// share of a buffer of size bytes (touched once first, so it is resident) with the kernels' vector loads,
// four streams per reader and software prefetch (kernel set k's StreamSum), and the best of three passes is
// returned in bytes per second. A scalar loop reads about half as fast on two cores, which would overstate
// every roofline share twofold.
func Bandwidth(k *kernels.Set, size int64, threads int) float64 {
	threads = max(1, threads)
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = byte(i >> 12)
	}
	// Shares are whole multiples of 4 KiB, so that every reader streams aligned pages.
	per := (len(buf)/threads + 4095) &^ 4095
	var best float64
	sums := make([]uint64, threads)
	for range 3 {
		start := time.Now()
		var wg sync.WaitGroup
		for t := range threads {
			a, b := min(len(buf), t*per), min(len(buf), (t+1)*per)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sums[t] += k.StreamSum(buf[a:b])
			}()
		}
		wg.Wait()
		best = max(best, float64(len(buf))/time.Since(start).Seconds())
	}
	return best
}
