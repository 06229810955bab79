package tensor

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestStreamSumConformance: the stream kernel in use (AVX2 where the CPU has it and the kernels are on,
// else Go) gives the Go twin's sum for every length, aligned or not, tails included.
func TestStreamSumConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	buf := make([]byte, 1<<16+104)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, n := range []int{0, 7, 8, 255, 256, 257, 1000, 4096, 1<<16 + 97} {
		for _, off := range []int{0, 1, 3} {
			b := buf[off : off+n]
			if got, want := StreamSum(b), streamSumGo(b); got != want {
				t.Errorf("%d bytes at offset %d: %#x, want %#x (kernels %s)", n, off, got, want, Kernels())
			}
		}
	}
}

// BenchmarkStreamSum reports the read bandwidth of one core, in cache (64 KiB) and from memory (256 MiB).
func BenchmarkStreamSum(b *testing.B) {
	for _, size := range []int{64 << 10, 256 << 20} {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i)
		}
		b.Run(formatSize(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = StreamSum(buf)
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
