package kernels

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// checkStreamSum: the set's stream kernel (AVX2, or Go in the generic set) gives the Go twin's sum for every length, aligned or not, tails included.
func checkStreamSum(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(5, 5))
	buf := make([]byte, 1<<16+104)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, n := range []int{0, 7, 8, 255, 256, 257, 1000, 4096, 1<<16 + 97} {
		for _, off := range []int{0, 1, 3} {
			b := buf[off : off+n]
			if got, want := s.StreamSum(b), streamSumGo(b); got != want {
				t.Errorf("%d bytes at offset %d: %#x, want %#x (kernels %s)", n, off, got, want, s.Name())
			}
		}
	}
}

// BenchmarkStreamSum reports the read bandwidth of one core, in cache (64 KiB) and from memory (256 MiB).
func BenchmarkStreamSum(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{64 << 10, 256 << 20} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i)
		}
		b.Run(formatSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = s.StreamSum(buf)
			}
		})
	}
}

func formatSize(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
