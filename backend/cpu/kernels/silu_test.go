package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// checkSiLUMul: the set's SiLUMul gives the Go code's bits for every value, ends and edges of the
// exponential's range included (±0, ±Inf, NaN, where e^−g underflows or overflows), and is within 2 ulp
// of a float64 SiLU times the same up value (1 ulp from the exponential, 1 from the division's and the
// product's roundings), or within 1e-35 where e^−g overflows float32 (g < −88.7: −0).
func checkSiLUMul(t *testing.T, s *Set) {
	// What SiLU's users rely on: silu(0) = 0, silu(+Inf) = +Inf, silu of a large negative value is −0 or
	// a tiny negative, NaN stays NaN, silu(20) ≈ 20.
	eg := []float32{0, float32(math.Inf(1)), -200, float32(math.NaN()), 20, 0, 0, 0, 0}
	ed := make([]float32, len(eg))
	s.SiLUMul(ed, eg, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
	if ed[0] != 0 || !math.IsInf(float64(ed[1]), 1) || ed[2] > 0 || ed[2] < -1e-30 || ed[3] == ed[3] || math.Abs(float64(ed[4])-20) > 1e-5 {
		t.Errorf("kernels %s: silu of %v = %v", s.Name(), eg[:5], ed[:5])
	}
	rng := rand.New(rand.NewPCG(7, 8))
	edges := []float32{0, float32(math.Copysign(0, -1)), 1, -1, 87.3, 87.4, -87.3, -87.4, 88.7, -88.7, -89, -89.5, -100, 100,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30, 0.5, -0.5}
	for _, n := range []int{1, 7, 8, 9, 16, 23, 100, 2048 + 5} {
		g, u := make([]float32, n), make([]float32, n)
		for i := range g {
			if i%5 == 2 {
				g[i] = edges[rng.IntN(len(edges))]
			} else {
				g[i] = float32(rng.NormFloat64() * 6)
			}
			u[i] = float32(rng.NormFloat64())
		}
		got, want := make([]float32, n), make([]float32, n)
		s.SiLUMul(got, g, u)
		siluMulGo(want, g, u)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("n %d, value %d: silu(%v)·%v = %v, Go twin %v (kernels %s)", n, i, g[i], u[i], got[i], want[i], s.Name())
			}
			x := float64(g[i])
			if math.IsInf(x, 0) || math.IsNaN(x) {
				continue
			}
			ref := x / (1 + math.Exp(-x)) * float64(u[i])
			if d := math.Abs(float64(got[i]) - ref); d > math.Abs(ref)*0x1p-22+1e-35 {
				t.Fatalf("silu(%v)·%v = %v, float64 %v", g[i], u[i], got[i], ref)
			}
		}
	}
}
