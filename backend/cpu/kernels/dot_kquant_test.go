package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
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

// checkKQuantDots: the Go Q4_K/Q5_K·Q8_K dots equal the float64 dot of the dequantized rows (to float32
// rounding of the super-block terms), and the set's one- and four-token kernels equal the Go code bit
// for bit.
func checkKQuantDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct {
		typ        tensor.Type
		blockBytes int
		five       bool
	}{{tensor.Q4_K, 144, false}, {tensor.Q5_K, 176, true}} {
		for trial := range 200 {
			nb := 1 + rng.IntN(17)
			w := make([]byte, nb*c.blockBytes)
			for i := range w {
				w[i] = byte(rng.Uint32())
			}
			for b := range nb {
				binary.LittleEndian.PutUint16(w[b*c.blockBytes:], tensor.F32ToF16(float32(rng.NormFloat64()*0.01)))
				binary.LittleEndian.PutUint16(w[b*c.blockBytes+2:], tensor.F32ToF16(float32(rng.NormFloat64()*0.01)))
			}
			a := randomQ8K(rng, nb, trial%3 == 0)
			ref := dotKQ8_KGo(w, a, c.blockBytes, c.five)
			wf, af := make([]float32, nb*tensor.QK_K), make([]float32, nb*tensor.QK_K)
			_ = tensor.Dequantize(c.typ, w, wf)
			_ = tensor.Dequantize(tensor.Q8_K, a, af)
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
			if got := s.DotKQ8_K(c.typ, w, a); math.Float32bits(got) != math.Float32bits(ref) {
				t.Fatalf("%s trial %d (%d super-blocks, kernels %s): %g, Go %g", c.typ, trial, nb, s.Name(), got, ref)
			}
			rows := [4][]byte{a, randomQ8K(rng, nb, false), randomQ8K(rng, nb, true), randomQ8K(rng, nb, false)}
			out := make([]float32, 4)
			if s.DotKQ8_K4(c.typ, w, rows, out) {
				for i, r := range rows {
					if want := dotKQ8_KGo(w, r, c.blockBytes, c.five); math.Float32bits(out[i]) != math.Float32bits(want) {
						t.Fatalf("%s trial %d token %d: four-token kernel %g, Go %g", c.typ, trial, i, out[i], want)
					}
				}
			}
		}
	}
}
