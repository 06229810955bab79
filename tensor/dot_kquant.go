package tensor

import (
	"encoding/binary"
	"math"
)

// Q4_K and Q5_K rows against Q8_K activations (ggml's vec_dot_q4_K_q8_K, vec_dot_q5_K_q8_K): per
// super-block the exact integer Σ_j scale_j·Σ q·a over the eight 32-value sub-blocks and Σ_j min_j·(the
// activation sums of sub-block j), then s += isum·(d·da) and s −= msum·(dmin·da) in float32, in that
// order. The AVX-512 and AVX2 kernels compute the same integers and the same float steps, so they agree bit for bit.

// DotQ4_KQ8_K is the dot product of a Q4_K row with a Q8_K row of the same length.
func DotQ4_KQ8_K(w, a []byte) float32 {
	nb := len(a) / 292
	switch {
	case nb == 0:
		return 0
	case hasAVX512:
		return dotQ4_KQ8_KAVX512(&w[0], &a[0], nb)
	case hasAVX2:
		return dotQ4_KQ8_KAVX2(&w[0], &a[0], nb)
	}
	return dotKQ8_KGo(w, a, 144, false)
}

// DotQ5_KQ8_K is the dot product of a Q5_K row with a Q8_K row of the same length.
func DotQ5_KQ8_K(w, a []byte) float32 {
	nb := len(a) / 292
	switch {
	case nb == 0:
		return 0
	case hasAVX512:
		return dotQ5_KQ8_KAVX512(&w[0], &a[0], nb)
	case hasAVX2:
		return dotQ5_KQ8_KAVX2(&w[0], &a[0], nb)
	}
	return dotKQ8_KGo(w, a, 176, true)
}

// DotKQ8_K dispatches on the weight type: Q4_K, Q5_K or Q6_K.
func DotKQ8_K(t Type, w, a []byte) float32 {
	switch t {
	case Q4_K:
		return DotQ4_KQ8_K(w, a)
	case Q5_K:
		return DotQ5_KQ8_K(w, a)
	}
	return DotQ6_KQ8_K(w, a)
}

func dotKQ8_KGo(w, a []byte, blockBytes int, five bool) float32 {
	var s float32
	for b := 0; b < len(a)/292; b++ {
		wb, ab := w[b*blockBytes:(b+1)*blockBytes], a[b*292:(b+1)*292]
		sc := wb[4:16]
		qs, qh := wb[16:144], []byte(nil)
		if five {
			qh, qs = wb[16:48], wb[48:176]
		}
		aq := ab[4:260]
		var isum, msum int32
		for j := range 8 {
			scale, m := scaleMinK4(j, sc)
			c, hi := j/2, j%2
			var sub int32
			for l := range 32 {
				q := qs[32*c+l] & 0xf
				if hi == 1 {
					q = qs[32*c+l] >> 4
				}
				if five && qh[l]>>j&1 != 0 {
					q += 16
				}
				sub += int32(q) * int32(int8(aq[32*j+l]))
			}
			isum += int32(scale) * sub
			bs := int32(int16(binary.LittleEndian.Uint16(ab[260+4*j:]))) + int32(int16(binary.LittleEndian.Uint16(ab[262+4*j:])))
			msum += int32(m) * bs
		}
		da := math.Float32frombits(binary.LittleEndian.Uint32(ab))
		d, dmin := half(wb)*da, half(wb[2:])*da
		s += float32(float32(isum) * d)
		s -= float32(float32(msum) * dmin)
	}
	return s
}

// DotKQ8_K4 sets out[i] = DotKQ8_K(t, w, a[i]) for four activation rows, bit for bit the same values,
// sharing the unpacking of the weights. It returns false, doing nothing, where there is no four-token
// kernel for t (AVX-512 has them for Q4_K and Q6_K).
func DotKQ8_K4(t Type, w []byte, a *[4][]byte, out []float32) bool {
	nb := len(a[0]) / 292
	if !hasAVX512 || nb == 0 || len(out) < 4 {
		return false
	}
	switch t {
	case Q4_K:
		dot4Q4_KQ8_KAVX512(&w[0], &a[0][0], &a[1][0], &a[2][0], &a[3][0], nb, &out[0])
	case Q6_K:
		dot4Q6_KQ8_KAVX512(&w[0], &a[0][0], &a[1][0], &a[2][0], &a[3][0], nb, &out[0])
	default:
		return false
	}
	return true
}
