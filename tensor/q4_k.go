package tensor

// Q4_K {f16 d; f16 dmin; u8 scales[12]; u8 qs[128]} and Q5_K {f16 d; f16 dmin; u8 scales[12]; u8 qh[32];
// u8 qs[128]}: super-blocks of 256 values in 8 sub-blocks of 32, each with a 6-bit scale and min.

// quantizeKSubBlocks runs the shared first half of quantize_row_q4_K_ref / q5_K_ref on one super-block:
// per-sub-block scale search, 6-bit packing of scales and mins, and the final levels in L.
func quantizeKSubBlocks(x []float32, y []byte, nmax int, rmin float32, nstep int, L *[QK_K]uint8) {
	var weights [32]float32
	var laux [32]uint8
	var scales, mins [8]float32
	var maxScale, maxMin float32
	for j := range 8 {
		xs := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xs {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xs {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xs, weights[:], L[32*j:32*j+32], laux[:], rmin, 0.1, nstep)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := range 8 {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	sc := y[4:16]
	clear(sc)
	packScaleMinK4(&ls, &lm, sc)
	putHalf(y, maxScale/63)
	putHalf(y[2:], maxMin/63)
	d, dmin := half(y), half(y[2:])
	for j := range 8 {
		s, m := scaleMinK4(j, sc)
		dd := d * float32(s)
		if dd == 0 {
			continue
		}
		dm := dmin * float32(m)
		for ii := range 32 {
			l := nearestInt((x[32*j+ii] + dm) / dd)
			L[32*j+ii] = uint8(max(0, min(int32(nmax), l)))
		}
	}
}

func quantizeQ4_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for b := 0; b < len(src)/QK_K; b++ {
		x := src[b*QK_K : (b+1)*QK_K]
		y := dst[b*144 : (b+1)*144]
		quantizeKSubBlocks(x, y, 15, -1, 20, &L)
		q := y[16:]
		for j := 0; j < QK_K; j += 64 {
			for l := range 32 {
				q[l] = L[j+l] | L[j+l+32]<<4
			}
			q = q[32:]
		}
	}
}

func quantizeQ5_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for b := 0; b < len(src)/QK_K; b++ {
		x := src[b*QK_K : (b+1)*QK_K]
		y := dst[b*176 : (b+1)*176]
		quantizeKSubBlocks(x, y, 31, -0.5, 15, &L)
		qh := y[16:48]
		ql := y[48:]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < QK_K; n += 64 {
			for j := range 32 {
				l1 := L[n+j]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				l2 := L[n+j+32]
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
			ql = ql[32:]
		}
	}
}

// chunkScales are the scales and mins of the two sub-blocks of 64-value chunk c of a Q4_K/Q5_K block.
func chunkScales(d, dmin float32, sc []byte, c int) (d1, m1, d2, m2 float32) {
	s1, n1 := scaleMinK4(2*c, sc)
	s2, n2 := scaleMinK4(2*c+1, sc)
	return d * float32(s1), dmin * float32(n1), d * float32(s2), dmin * float32(n2)
}

func dequantizeQ4_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/QK_K; b++ {
		y := src[b*144:]
		d, dmin := half(y), half(y[2:])
		sc := y[4:16]
		q := y[16:]
		out := dst[b*QK_K:]
		for c := range 4 {
			d1, mm1, d2, mm2 := chunkScales(d, dmin, sc, c)
			for l := range 32 {
				out[64*c+l] = float32(d1*float32(q[32*c+l]&0xf)) - mm1
				out[64*c+32+l] = float32(d2*float32(q[32*c+l]>>4)) - mm2
			}
		}
	}
}

func dequantizeQ5_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/QK_K; b++ {
		y := src[b*176:]
		d, dmin := half(y), half(y[2:])
		sc := y[4:16]
		qh := y[16:48]
		ql := y[48:]
		out := dst[b*QK_K:]
		for c := range 4 {
			d1, mm1, d2, mm2 := chunkScales(d, dmin, sc, c)
			u1, u2 := uint8(1)<<(2*c), uint8(2)<<(2*c)
			for l := range 32 {
				q1 := ql[32*c+l] & 0xf
				if qh[l]&u1 != 0 {
					q1 += 16
				}
				q2 := ql[32*c+l] >> 4
				if qh[l]&u2 != 0 {
					q2 += 16
				}
				out[64*c+l] = float32(d1*float32(q1)) - mm1
				out[64*c+32+l] = float32(d2*float32(q2)) - mm2
			}
		}
	}
}
