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
			wl := float32(w[i] * fl)
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
	// The weights w = x² and products w·x are the same in every pass; computing them once keeps every
	// rounding step of ggml's loop.
	var wBuf, wxBuf [32]float32
	w, wx := wBuf[:n], wxBuf[:n]
	for i, v := range x {
		w[i] = v * v
		wx[i] = w[i] * v
	}
	var sumLX, sumL2 float32
	for i := range n {
		l := max(-int32(nmax), min(int32(nmax)-1, nearestInt(iscale*x[i])))
		L[i] = int8(l + int32(nmax))
		fl := float32(l)
		sumLX += float32(wx[i] * fl)
		sumL2 += float32(float32(w[i]*fl) * fl)
	}
	var scale float32
	if sumL2 != 0 {
		scale = sumLX / sumL2
	}
	best := scale * sumLX
	// The 18 candidate scales are independent until the comparison, so their sums are accumulated side by
	// side: six dependency chains at a time instead of one keeps the FPU busy. Each chain still adds in
	// ggml's order, so every sum is bit-identical.
	var sLX, sL2 [18]float32
	var is [18]float32
	for k := range 18 {
		v := k - 9
		if v >= 0 {
			v++
		}
		is[k] = -(fn + float32(0.1*float32(v))) / maxv
	}
	lvl := func(sc, v float32) float32 { return qxLevel(int32(nmax), sc, v) }
	for g := 0; g < 18; g += 6 {
		var a0, a1, a2, a3, a4, a5, b0, b1, b2, b3, b4, b5 float32
		s0, s1, s2, s3, s4, s5 := is[g], is[g+1], is[g+2], is[g+3], is[g+4], is[g+5]
		for i, v := range x {
			wi, wxi := w[i], wx[i]
			nm := int32(nmax)
			l0, l1, l2, l3, l4, l5 := qxLevel(nm, s0, v), qxLevel(nm, s1, v), qxLevel(nm, s2, v), qxLevel(nm, s3, v), qxLevel(nm, s4, v), qxLevel(nm, s5, v)
			a0 += float32(wxi * l0)
			a1 += float32(wxi * l1)
			a2 += float32(wxi * l2)
			a3 += float32(wxi * l3)
			a4 += float32(wxi * l4)
			a5 += float32(wxi * l5)
			b0 += float32(float32(wi*l0) * l0)
			b1 += float32(float32(wi*l1) * l1)
			b2 += float32(float32(wi*l2) * l2)
			b3 += float32(float32(wi*l3) * l3)
			b4 += float32(float32(wi*l4) * l4)
			b5 += float32(float32(wi*l5) * l5)
		}
		sLX[g], sLX[g+1], sLX[g+2], sLX[g+3], sLX[g+4], sLX[g+5] = a0, a1, a2, a3, a4, a5
		sL2[g], sL2[g+1], sL2[g+2], sL2[g+3], sL2[g+4], sL2[g+5] = b0, b1, b2, b3, b4, b5
	}
	for k := range 18 {
		sumLX, sumL2 = sLX[k], sL2[k]
		if sumL2 > 0 && float32(sumLX*sumLX) > float32(best*sumL2) {
			for i := range n {
				L[i] = int8(int32(nmax) + int32(lvl(is[k], x[i])))
			}
			scale = sumLX / sumL2
			best = scale * sumLX
		}
	}
	return scale
}

// qxLevel is make_qx_quants' level for value v at inverse scale sc: nearest_int clamped to [-nmax, nmax-1].
func qxLevel(nmax int32, sc, v float32) float32 {
	return float32(max(-nmax, min(nmax-1, nearestInt(sc*v))))
}

// sqrt32 is sqrtf: the float64 square root rounded to float32 is the correctly rounded float32 root.
func sqrt32(v float32) float32 { return float32(math.Sqrt(float64(v))) }
