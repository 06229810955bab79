package tensor

import "math"

// Helpers shared by the K-quants (ggml-quants.c): the 6-bit scale/min packing of Q4_K/Q5_K and the two
// scale searches, make_qkx2_quants (asymmetric) and make_qx_quants (symmetric).

// groupMaxEps is ggml's GROUP_MAX_EPS: below it a group counts as all zero.
const groupMaxEps = 1e-15

// scaleMinK4 unpacks scale j and min j from the 12-byte Q4_K/Q5_K scales field (get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// packScaleMinK4 stores 8 six-bit scales and mins in the 12-byte layout scaleMinK4 reads.
func packScaleMinK4(ls, lm *[8]uint8, q []byte) {
	for j := range 8 {
		if j < 4 {
			q[j] = ls[j]
			q[j+4] = lm[j]
		} else {
			q[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			q[j-4] |= (ls[j] >> 4) << 6
			q[j] |= (lm[j] >> 4) << 6
		}
	}
}

// makeQKX2Quants searches an asymmetric scale and min for x under weights w, writing levels 0..nmax to L.
// It returns the scale and the (positive) min to subtract.
func makeQKX2Quants(nmax int, x, w []float32, L, Laux []uint8, rmin, rdelta float32, nstep int) (scale, theMin float32) {
	n := len(x)
	lo, hi := x[0], x[0]
	sumW := w[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < lo {
			lo = x[i]
		}
		if x[i] > hi {
			hi = x[i]
		}
		sumW += w[i]
		sumX += float32(w[i] * x[i])
	}
	if lo > 0 {
		lo = 0
	}
	if hi == lo {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0, -lo
	}
	fmax := float32(nmax)
	iscale := fmax / (hi - lo)
	scale = 1 / iscale
	var bestMad float32
	for i := range n {
		l := nearestInt(iscale * (x[i] - lo))
		L[i] = uint8(max(0, min(int32(nmax), l)))
		diff := float32(float32(scale*float32(L[i]))+lo) - x[i]
		bestMad += float32(w[i] * float32(diff*diff))
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + fmax) / (hi - lo)
		var sumL, sumL2, sumXL float32
		for i := range n {
			l := max(0, min(int32(nmax), nearestInt(iscale*(x[i]-lo))))
			Laux[i] = uint8(l)
			fl := float32(l)
			wl := w[i] * fl
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var mad float32
			for i := range n {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				mad += float32(w[i] * float32(diff*diff))
			}
			if mad < bestMad {
				copy(L[:n], Laux[:n])
				bestMad = mad
				scale = thisScale
				lo = thisMin
			}
		}
	}
	return scale, -lo
}

// makeQXQuants is make_qx_quants with rmse_type 1 and no importance weights (the Q6_K reference path):
// a symmetric scale for levels -nmax..nmax-1, stored in L with an offset of nmax.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	n := len(x)
	var amax, maxv float32
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, maxv = a, v
		}
	}
	if amax < groupMaxEps {
		for i := range L[:n] {
			L[i] = 0
		}
		return 0
	}
	fn := float32(nmax)
	iscale := -fn / maxv
	var sumLX, sumL2 float32
	for i := range n {
		l := max(-int32(nmax), min(int32(nmax)-1, nearestInt(iscale*x[i])))
		L[i] = int8(l + int32(nmax))
		w := x[i] * x[i]
		fl := float32(l)
		sumLX += float32(float32(w*x[i]) * fl)
		sumL2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(fn + float32(0.1*float32(is))) / maxv
		sumLX, sumL2 = 0, 0
		for i := range n {
			l := max(-int32(nmax), min(int32(nmax)-1, nearestInt(iscale*x[i])))
			w := x[i] * x[i]
			fl := float32(l)
			sumLX += float32(float32(w*x[i]) * fl)
			sumL2 += float32(float32(w*fl) * fl)
		}
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i := range n {
				l := nearestInt(iscale * x[i])
				L[i] = int8(int32(nmax) + max(-int32(nmax), min(int32(nmax)-1, l)))
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the correctly rounded float32 root.
func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }
