package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFloatDots checks DotFloatRows (one- and four-token kernels, tails), DotF32 and Axpy against float64
// sums: the difference allowed is (n/16+8)·2^-23 of Σ|terms|, the rounding of a float32 accumulation in
// sixteen-lane partial sums.
func TestFloatDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, typ := range []Type{F32, F16, BF16} {
		for _, n := range []int{16, 48, 4096, 4099, 13696} {
			rows := 1 + rng.IntN(9)
			x := make([][]float32, rows)
			for i := range x {
				x[i] = make([]float32, n)
				for j := range x[i] {
					x[i][j] = float32(rng.NormFloat64())
				}
			}
			src := make([]float32, n)
			for j := range src {
				src[j] = float32(rng.NormFloat64() * 0.05)
			}
			rb, _ := typ.RowBytes(int64(n))
			w := make([]byte, rb)
			_ = Quantize(typ, src, w)
			wf := make([]float32, n)
			_ = Dequantize(typ, w, wf)
			out := make([]float32, rows)
			if !DotFloatRows(typ, w, x, out) {
				if HasFloatKernels() {
					t.Fatalf("%s: no kernel although the CPU has AVX-512", typ)
				}
				for i := range x {
					out[i] = DotF32(wf, x[i])
				}
			}
			for i := range x {
				want, abs := exactDot(wf, x[i])
				if tol := float64(n/16+8) * 0x1p-23 * abs; math.Abs(float64(out[i])-want) > tol {
					t.Fatalf("%s n=%d row %d/%d: got %g, want %g ± %g (kernels %s)", typ, n, i, rows, out[i], want, tol, Kernels())
				}
				if got := DotF32(wf, x[i]); math.Abs(float64(got)-want) > float64(n/16+8)*0x1p-23*abs {
					t.Fatalf("DotF32 n=%d: got %g, want %g", n, got, want)
				}
			}
			y := append([]float32(nil), x[0]...)
			Axpy(0.37, wf, y)
			for j := range y {
				p := float64(float32(0.37)) * float64(wf[j])
				want := float64(x[0][j]) + p
				if math.Abs(float64(y[j])-want) > 0x1p-23*(math.Abs(float64(x[0][j]))+math.Abs(p)) {
					t.Fatalf("Axpy n=%d [%d]: got %g, want %g", n, j, y[j], want)
				}
			}
		}
	}
}

func exactDot(a, b []float32) (sum, abs float64) {
	for i := range a {
		p := float64(a[i]) * float64(b[i])
		sum += p
		abs += math.Abs(p)
	}
	return sum, abs
}
