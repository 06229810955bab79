package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// randomQ8K fills nb Q8_K blocks with random int8 values (−128 included), consistent bsums and a scale.
func randomQ8K(rng *rand.Rand, nb int, extreme bool) []byte {
	a := make([]byte, nb*292)
	for b := range nb {
		ab := a[b*292 : (b+1)*292]
		binary.LittleEndian.PutUint32(ab, math.Float32bits(float32(rng.ExpFloat64()*0.01)))
		for j := range 16 {
			var sum int16
			for l := range 16 {
				v := int8(rng.Uint32())
				if extreme {
					v = []int8{-128, 127}[rng.IntN(2)]
				}
				ab[4+16*j+l] = byte(v)
				sum += int16(v)
			}
			binary.LittleEndian.PutUint16(ab[260+2*j:], uint16(sum))
		}
	}
	return a
}

// TestKQuantDots: the Go Q4_K/Q5_K·Q8_K dots equal the float64 dot of the dequantized rows (to float32
// rounding of the super-block terms), and the AVX-512 and AVX2 kernels equal the Go code bit for bit.
func TestKQuantDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct {
		typ        Type
		blockBytes int
		dot        func(w, a []byte) float32
		avx2       func(w, a *byte, nb int) float32
		five       bool
	}{{Q4_K, 144, DotQ4_KQ8_K, dotQ4_KQ8_KAVX2, false}, {Q5_K, 176, DotQ5_KQ8_K, dotQ5_KQ8_KAVX2, true}} {
		for trial := range 200 {
			nb := 1 + rng.IntN(17)
			w := make([]byte, nb*c.blockBytes)
			for i := range w {
				w[i] = byte(rng.Uint32())
			}
			for b := range nb {
				binary.LittleEndian.PutUint16(w[b*c.blockBytes:], F32ToF16(float32(rng.NormFloat64()*0.01)))
				binary.LittleEndian.PutUint16(w[b*c.blockBytes+2:], F32ToF16(float32(rng.NormFloat64()*0.01)))
			}
			a := randomQ8K(rng, nb, trial%3 == 0)
			ref := dotKQ8_KGo(w, a, c.blockBytes, c.five)
			wf, af := make([]float32, nb*QK_K), make([]float32, nb*QK_K)
			_ = Dequantize(c.typ, w, wf)
			_ = Dequantize(Q8_K, a, af)
			var want, abs float64
			for i := range wf {
				p := float64(wf[i]) * float64(af[i])
				want += p
				abs += math.Abs(p)
			}
			// Dequantizing rounds d·scale and dmin·min to float32 first; allow a few ulps of Σ|terms|.
			if tol := 64 * 0x1p-23 * abs; math.Abs(float64(ref)-want) > tol+1e-30 {
				t.Fatalf("%s trial %d: Go dot %g, dequantized %g ± %g", c.typ, trial, ref, want, tol)
			}
			if got := c.dot(w, a); math.Float32bits(got) != math.Float32bits(ref) {
				t.Fatalf("%s trial %d (%d super-blocks, kernels %s): %g, Go %g", c.typ, trial, nb, Kernels(), got, ref)
			}
			rows := [4][]byte{a, randomQ8K(rng, nb, false), randomQ8K(rng, nb, true), randomQ8K(rng, nb, false)}
			out := make([]float32, 4)
			if DotKQ8_K4(c.typ, w, &rows, out) {
				for i, r := range rows {
					if want := dotKQ8_KGo(w, r, c.blockBytes, c.five); math.Float32bits(out[i]) != math.Float32bits(want) {
						t.Fatalf("%s trial %d token %d: four-token kernel %g, Go %g", c.typ, trial, i, out[i], want)
					}
				}
			}
			if hasAVX2 { // the AVX2 kernel as well, which CPUs without AVX-512 use
				if got := c.avx2(&w[0], &a[0], nb); math.Float32bits(got) != math.Float32bits(ref) {
					t.Fatalf("%s trial %d (%d super-blocks): AVX2 kernel %g, Go %g", c.typ, trial, nb, got, ref)
				}
			}
		}
	}
}
