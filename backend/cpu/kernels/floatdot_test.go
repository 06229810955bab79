package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// checkFloatDots checks the float dot products (one- and four-token kernels, tails), the float32 dot and
// axpy of the set's float kernels (the Go code in the generic set) against float64 sums: the difference
// allowed is (n/16+8)·2^-23 of Σ|terms|, the rounding of a float32 accumulation in sixteen-lane partial
// sums.
func checkFloatDots(t *testing.T, s *Set) {
	k := s.floats
	rng := rand.New(rand.NewPCG(8, 9))
	for _, typ := range []tensor.Type{tensor.F32, tensor.F16, tensor.BF16} {
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
			_ = tensor.Quantize(typ, src, w)
			wf := make([]float32, n)
			_ = tensor.Dequantize(typ, w, wf)
			out := make([]float32, rows)
			if !k.dotRows(typ, w, x, out) {
				if k != nil {
					t.Fatalf("%s: the kernel set has no kernel", typ)
				}
				for i := range x {
					out[i] = k.dotF32(wf, x[i])
				}
			}
			for i := range x {
				want, abs := exactDot(wf, x[i])
				if tol := float64(n/16+8) * 0x1p-23 * abs; math.Abs(float64(out[i])-want) > tol {
					t.Fatalf("%s n=%d row %d/%d: got %g, want %g ± %g (kernels %s)", typ, n, i, rows, out[i], want, tol, s.Name())
				}
				if got := k.dotF32(wf, x[i]); math.Abs(float64(got)-want) > float64(n/16+8)*0x1p-23*abs {
					t.Fatalf("DotF32 n=%d: got %g, want %g", n, got, want)
				}
			}
			y := append([]float32(nil), x[0]...)
			k.axpyF32(0.37, wf, y)
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

// checkFloatTile: the register tile (four rows on AVX-512, three on AVX2) times four tokens against
// float64 sums, at the same tolerance.
func checkFloatTile(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, typ := range []tensor.Type{tensor.F32, tensor.F16, tensor.BF16} {
		for _, n := range []int{16, 1040, 4099} {
			x := make([][]float32, 4)
			for i := range x {
				x[i] = make([]float32, n)
				for j := range x[i] {
					x[i][j] = float32(rng.NormFloat64())
				}
			}
			rb64, _ := typ.RowBytes(int64(n))
			rb := int(rb64)
			w := make([]byte, 4*rb)
			wf := make([][]float32, 4)
			for r := range 4 {
				src := make([]float32, n)
				for j := range src {
					src[j] = float32(rng.NormFloat64() * 0.05)
				}
				_ = tensor.Quantize(typ, src, w[r*rb:(r+1)*rb])
				wf[r] = make([]float32, n)
				_ = tensor.Dequantize(typ, w[r*rb:(r+1)*rb], wf[r])
			}
			var out [16]float32
			if !s.DotFloatTile(typ, w, rb, x, &out) {
				t.Fatalf("%s: no tile kernel", typ)
			}
			for r := range s.FloatTileRows() {
				for i := range 4 {
					want, abs := exactDot(wf[r], x[i])
					if tol := float64(n/16+8) * 0x1p-23 * abs; math.Abs(float64(out[4*r+i])-want) > tol {
						t.Fatalf("%s n=%d row %d token %d: got %g, want %g ± %g", typ, n, r, i, out[4*r+i], want, tol)
					}
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

// checkAttnValuesF16: attention's weighted F16 values, with the set's kernel (the Go code in
// the generic set), against a float64 sum, over head counts, widths, key counts and strides, within a few
// float32 ulps of Σ|terms|.
func checkAttnValuesF16(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct{ heads, hd, nk, vstride, sstride int }{
		{4, 128, 1, 256, 1}, {4, 128, 37, 256, 40}, {4, 32, 100, 64, 128}, {4, 16, 5, 16, 5}, {3, 128, 9, 128, 9},
		{1, 64, 17, 64, 17}, {4, 24, 6, 48, 6}, {2, 128, 300, 512, 300},
		{4, 48, 70, 96, 70}, {4, 64, 2000, 256, 2000}, // 48: the AVX2 kernel on an AVX-512 CPU; 2000 keys: several blocks
		{16, 128, 300, 256, 304}, {8, 32, 65, 64, 70}, // sixteen and eight heads: four a pass
	} {
		scores := make([]float32, (c.heads-1)*c.sstride+c.nk)
		for i := range scores {
			scores[i] = rng.Float32()
		}
		vals := make([]uint16, (c.nk-1)*c.vstride+c.hd)
		for i := range vals {
			vals[i] = tensor.F32ToF16(float32(rng.NormFloat64()))
		}
		out := make([]float32, c.heads*c.hd)
		for i := range out {
			out[i] = 99 // overwritten, not added to
		}
		s.AttnValuesF16(scores, c.sstride, vals, c.vstride, c.nk, c.hd, c.heads, out)
		for e := range c.heads {
			for j := range c.hd {
				var want, mag float64
				for k := range c.nk {
					term := float64(scores[e*c.sstride+k]) * float64(tensor.F16ToF32(vals[k*c.vstride+j]))
					want += term
					mag += math.Abs(term)
				}
				if d := math.Abs(float64(out[e*c.hd+j]) - want); d > 4e-7*mag*math.Sqrt(float64(c.nk))+1e-7 {
					t.Fatalf("%+v: head %d value %d: %v, want %v (|Δ| %.3g)", c, e, j, out[e*c.hd+j], want, d)
				}
			}
		}
	}
}
