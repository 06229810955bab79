package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// checkBlockDots: the set's Q4_0/Q8_0 block dots equal the Go ones bit for bit (integer sums are exact
// and the float steps run in the same order).
func checkBlockDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := 32 * (1 + rng.IntN(200))
		x := make([]float32, n)
		y := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			y[i] = float32(rng.NormFloat64() * 3)
		}
		a := make([]byte, n/32*34)
		_ = tensor.Quantize(tensor.Q8_0, y, a)
		w4 := make([]byte, n/32*18)
		_ = tensor.Quantize(tensor.Q4_0, x, w4)
		w8 := make([]byte, n/32*34)
		_ = tensor.Quantize(tensor.Q8_0, x, w8)
		if trial%10 == 0 {
			for i := 2; i < len(w8); i += 34 {
				w8[i] = 0x80 // -128, which ggml's SIMD code also meets in files from other writers
			}
		}
		if g, w := s.traits[tensor.Q4_0].dot(w4, a), dotQ4_0Q8_0Go(w4, a); math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("trial %d: Q4_0·Q8_0 %g, Go %g", trial, g, w)
		}
		if g, w := s.traits[tensor.Q8_0].dot(w8, a), dotQ8_0Q8_0Go(w8, a); math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("trial %d: Q8_0·Q8_0 %g, Go %g", trial, g, w)
		}
	}
}

// checkDotQ6_KQ8_K checks the integer Q6_K·Q8_K dot against a float64 dot of the dequantized rows.
func checkDotQ6_KQ8_K(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		n := 256 * (1 + rng.IntN(16))
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		w, a := make([]byte, n/256*210), make([]byte, n/256*292)
		_ = tensor.Quantize(tensor.Q6_K, x, w)
		_ = tensor.Quantize(tensor.Q8_K, y, a)
		xd, yd := make([]float32, n), make([]float32, n)
		_ = tensor.Dequantize(tensor.Q6_K, w, xd)
		_ = tensor.Dequantize(tensor.Q8_K, a, yd)
		var want, mag float64
		for i := range xd {
			want += float64(xd[i]) * float64(yd[i])
			mag += math.Abs(float64(xd[i]) * float64(yd[i]))
		}
		if got := s.DotKQ8_K(tensor.Q6_K, w, a); math.Abs(float64(got)-want) > 1e-5*mag {
			t.Fatalf("n=%d: %g, float64 reference %g", n, got, want)
		}
	}
}
