package kernels

import "math"

// ExpSum sets x[i] = e^(x[i] − mx) and returns their sum in float64: softmax's exponentials, where mx is
// the maximum of x (so every exponent is at most 0). Values below e^−87.33654 (the smallest normal
// float32) become 0, and a NaN exponent too (softmax reports NaN inputs before it gets here). Each value
// is within 1 ulp of math.Exp's (2^t split into 2^n, built in the exponent, and 2^f by a degree-7
// polynomial in float64), and the sum is formed in eight lanes, i%8, so that the AVX-512 and AVX2 kernels
// and the Go code give the same bits.
func (s *Set) ExpSum(x []float32, mx float32) float64 {
	if len(x) == 0 {
		return 0
	}
	if s.hasAVX512() {
		return expSumAVX512(&x[0], len(x), mx)
	}
	var acc [8]float64
	body := 0
	if s.hasAVX2() {
		body = len(x) &^ 7
		if body > 0 {
			expSum8AVX2(&x[0], body, mx, &acc)
		}
	}
	expSumLanes(x, body, mx, &acc)
	return sumLanes(&acc)
}

func expSumGo(x []float32, mx float32) float64 {
	var acc [8]float64
	expSumLanes(x, 0, mx, &acc)
	return sumLanes(&acc)
}

// sumLanes reduces the eight lanes as the kernels do.
func sumLanes(acc *[8]float64) float64 {
	return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

// expSumLanes is expSumGo's loop from x[from:], adding value i to acc[i%8].
func expSumLanes(x []float32, from int, mx float32, acc *[8]float64) {
	for i := from; i < len(x); i++ {
		v := x[i]
		d := v - mx
		e := float32(0)
		if d >= -87.33654 {
			t := float64(d) * 1.4426950408889634 // log2(e)
			n := int32(t - 0.5)                  // t ≤ 0: the nearest integer (ties either way)
			// 2^f = e^(f·ln 2), f = t − n in [−½, ½]: Taylor coefficients of e^y, |y| ≤ 0.347.
			y := (t - float64(n)) * 0.6931471805599453
			e = float32(expPoly(y) * float64(math.Float32frombits(uint32(n+127)<<23)))
		}
		x[i] = e
		acc[i%8] += float64(e)
	}
}

// expPoly is e^y for |y| ≤ ln2/2 as the kernels form it: the degree-7 Taylor polynomial by Horner's steps,
// each product rounded (float64(...) forbids fusing it into an FMA, which a GOAMD64=v3 build would
// otherwise do): the kernels multiply, then add.
func expPoly(y float64) float64 {
	p := float64(y * (1.0 / 5040))
	p = float64(y*(1.0/720+p)) + 1.0/120
	p = float64(y*p) + 1.0/24
	p = float64(y*p) + 1.0/6
	p = float64(y*p) + 0.5
	p = float64(y*p) + 1
	return float64(y*p) + 1
}
