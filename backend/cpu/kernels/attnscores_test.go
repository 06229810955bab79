package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// checkAttnScores16F16: sixteen heads' scores over F16 keys against a float64 sum (within a few float32
// ulps of Σ|terms|), the maximum exactly the largest score, over head widths, key counts (whole blocks,
// a padded last block, one key) and strides; a NaN in one key clears finite, and the set's kernel agrees
// with its Go twin within the same bound.
func checkAttnScores16F16(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ hd, nk, kstride, sstride int }{
		{128, 1, 256, 1}, {128, 16, 256, 16}, {128, 17, 256, 20}, {128, 300, 512, 300}, {64, 15, 64, 15},
		{16, 40, 16, 48}, {32, 33, 96, 40}, {128, 2048, 256, 2048},
	} {
		qt := make([]float32, AttnGroup*c.hd)
		for i := range qt {
			qt[i] = float32(rng.NormFloat64() * 0.1)
		}
		keys := make([]uint16, (c.nk-1)*c.kstride+c.hd)
		for i := range keys {
			keys[i] = tensor.F32ToF16(float32(rng.NormFloat64()))
		}
		scores := make([]float32, (AttnGroup-1)*c.sstride+c.nk)
		mx, finite := s.AttnScores16F16(qt, keys, c.kstride, c.nk, c.hd, scores, c.sstride)
		if !finite {
			t.Fatalf("%+v: finite scores reported as not finite", c)
		}
		twin := make([]float32, len(scores))
		var stat [2 * AttnGroup]float32
		for h := range AttnGroup {
			stat[h] = float32(math.Inf(-1))
		}
		attnScores16F16Go(&qt[0], (*byte)(unsafe.Pointer(&keys[0])), 2*c.kstride, c.nk, c.hd, &twin[0], 4*c.sstride, &stat[0])
		for h := range AttnGroup {
			best := float32(math.Inf(-1))
			for k := range c.nk {
				var want, mag float64
				for d := range c.hd {
					term := float64(qt[AttnGroup*d+h]) * float64(tensor.F16ToF32(keys[k*c.kstride+d]))
					want += term
					mag += math.Abs(term)
				}
				got := scores[h*c.sstride+k]
				bound := 4e-7*mag*math.Sqrt(float64(c.hd)) + 1e-7
				if d := math.Abs(float64(got) - want); d > bound {
					t.Fatalf("%+v: head %d key %d: %v, want %v (|Δ| %.3g)", c, h, k, got, want, d)
				}
				if d := math.Abs(float64(got - twin[h*c.sstride+k])); d > 2*bound {
					t.Fatalf("%+v: head %d key %d: kernel %v, Go twin %v", c, h, k, got, twin[h*c.sstride+k])
				}
				best = max(best, got)
			}
			if mx[h] != best {
				t.Fatalf("%+v: head %d: maximum %v, largest score %v", c, h, mx[h], best)
			}
		}
		keys[(c.nk-1)*c.kstride+c.hd/2] = 0x7e00 // a NaN in the last key
		if _, finite := s.AttnScores16F16(qt, keys, c.kstride, c.nk, c.hd, scores, c.sstride); finite {
			t.Fatalf("%+v: a NaN key gave finite scores", c)
		}
	}
}
