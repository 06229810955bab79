package kernels

import "math"

// SiLUMul sets d[i] = g[i]·σ(g[i])·u[i] = g[i] / (1 + e^−g[i]) · u[i]: SwiGLU's gate, len(d) values of g
// and u. e^−g is formed as ExpSum's exponentials are (2^n built in the exponent bits, 2^f by a degree-7
// polynomial in float64, within 1 ulp of math.Exp's) over the whole range SiLU needs: 0 where −g is below
// ln 2^−126, +Inf from −g ≥ 89 (and for NaN, which stays NaN through the division). The AVX2 kernel
// takes eight values at a time with the same operations per value, so that every set gives the Go
// code's bits; SwiGLU's math.Exp per value took about a tenth of a decode step of four streams.
func (s *Set) SiLUMul(d, g, u []float32) {
	n := len(d)
	if n == 0 {
		return
	}
	_, _ = g[n-1], u[n-1]
	body := 0
	if s.hasAVX2() {
		body = n &^ 7
		if body > 0 {
			siluMul8AVX2(&d[0], &g[0], &u[0], body)
		}
	}
	siluMulLanes(d, g, u, body)
}

// siluMulGo is SiLUMul in Go (the reference the kernels are held to).
func siluMulGo(d, g, u []float32) { siluMulLanes(d, g, u, 0) }

// siluMulLanes is siluMulGo's loop from d[from:].
func siluMulLanes(d, g, u []float32, from int) {
	for i := from; i < len(d); i++ {
		x := g[i]
		d[i] = x / (1 + expSiLU(-x)) * u[i]
	}
}

// expSiLU is e^v as SiLUMul forms it, for v = −g: clamped to 89 from above (NaN too, as VMINPS does),
// 0 below the smallest normal float32.
func expSiLU(v float32) float32 {
	if !(v <= 89) {
		v = 89
	}
	if v < -87.33654 {
		return 0
	}
	t := float64(v) * 1.4426950408889634 // log2(e)
	n := int32(t+128.5) - 128            // the nearest integer (t + 128.5 > 0: truncation is floor)
	// 2^f = e^(f·ln 2), f = t − n in [−½, ½], times 2^n in float64, whose exponent holds n up to 128:
	// e^89 overflows float32 to +Inf when rounded.
	y := (t - float64(n)) * 0.6931471805599453
	return float32(expPoly(y) * math.Float64frombits(uint64(int64(n)+1023)<<52))
}
