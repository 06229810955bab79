package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// checkExpSum: softmax's exponentials, with the set's kernel (AVX-512, AVX2 or Go), give expSumGo's bits (values
// and sum) for lengths around the kernel's 8 lanes, including exponents below the float32 limit, −Inf and
// exactly 0; each value is within 1 ulp of math.Exp and the sum within 1e-12 of a float64 sum.
func checkExpSum(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 8, 9, 15, 16, 17, 100, 4097} {
		x := make([]float32, n)
		for i := range x {
			switch i % 11 {
			case 3:
				x[i] = -200 // below e^-87.34: 0
			case 7:
				x[i] = float32(math.Inf(-1))
			default:
				x[i] = float32(rng.NormFloat64() * 20)
			}
		}
		mx := x[0]
		for _, v := range x {
			mx = max(mx, v)
		}
		got, want := append([]float32(nil), x...), append([]float32(nil), x...)
		gs, ws := s.ExpSum(got, mx), expSumGo(want, mx)
		if math.Float64bits(gs) != math.Float64bits(ws) {
			t.Fatalf("n %d: sum %v, Go twin %v (kernels %s)", n, gs, ws, s.Name())
		}
		var sum float64
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n %d, value %d: %v, Go twin %v", n, i, got[i], want[i])
			}
			ref := math.Exp(float64(x[i] - mx))
			if ref < 0x1p-126 {
				ref = 0
			}
			if d := math.Abs(float64(got[i]) - ref); d > ref*0x1p-23 {
				t.Fatalf("n %d, value %d: e^%v = %v, math.Exp %v", n, i, x[i]-mx, got[i], ref)
			}
			sum += float64(got[i])
		}
		if math.Abs(gs-sum) > 1e-12*sum {
			t.Fatalf("n %d: sum %v, float64 sum %v", n, gs, sum)
		}
	}
}
