package tensor

import (
	"encoding/binary"
	"math"
)

// Block dot products between a weight row and activations quantized to Q8_0, as ggml's CPU backend does
// (vec_dot_q4_0_q8_0, vec_dot_q8_0_q8_0): an exact integer sum per block, then float32(sum)·(dw·da) added
// to the total in block order. The assembly versions keep exactly this float order, so they are
// bit-identical to the Go code.

// DotQ4_0Q8_0 is the dot product of a Q4_0 row with a Q8_0 row of the same length.
func DotQ4_0Q8_0(w, a []byte) float32 {
	nb := len(a) / 34
	if nb == 0 {
		return 0
	}
	if hasAVX2 {
		return dotQ4_0Q8_0AVX2(&w[0], &a[0], nb)
	}
	return dotQ4_0Q8_0Go(w, a)
}

// DotQ8_0Q8_0 is the dot product of two Q8_0 rows.
func DotQ8_0Q8_0(w, a []byte) float32 {
	nb := len(a) / 34
	if nb == 0 {
		return 0
	}
	if hasAVX2 {
		return dotQ8_0Q8_0AVX2(&w[0], &a[0], nb)
	}
	return dotQ8_0Q8_0Go(w, a)
}

func dotQ4_0Q8_0Go(w, a []byte) float32 {
	var s float32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*18 : b*18+18]
		ab := a[b*34 : b*34+34]
		var sumi int32
		qs, lo, hi := wb[2:18], ab[2:18], ab[18:34]
		for j, q := range qs {
			sumi += (int32(q&0xf)-8)*int32(int8(lo[j])) + (int32(q>>4)-8)*int32(int8(hi[j]))
		}
		s += float32(float32(sumi) * float32(half(wb)*half(ab))) // no FMA: the assembly rounds each product
	}
	return s
}

func dotQ8_0Q8_0Go(w, a []byte) float32 {
	var s float32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*34 : b*34+34]
		ab := a[b*34 : b*34+34]
		var sumi int32
		wq, aq := wb[2:34], ab[2:34]
		for j := range wq {
			sumi += int32(int8(wq[j])) * int32(int8(aq[j]))
		}
		s += float32(float32(sumi) * float32(half(wb)*half(ab))) // no FMA: the assembly rounds each product
	}
	return s
}

// DotQ6_KQ8_K is ggml's vec_dot_q6_K_q8_K: per 256-value super-block, the 6-bit weights minus 32 times the
// int8 activations, summed exactly per 16-value sub-block and weighted by its int8 scale, then
// float32(sum)·(dw·da) added to the total.
func DotQ6_KQ8_K(w, a []byte) float32 {
	var s float32
	var q [QK_K]int8
	for b := 0; b < len(a)/292; b++ {
		wb, ab := w[b*210:b*210+210], a[b*292:b*292+292]
		for h := range 2 {
			ql, qh, out := wb[64*h:64*h+64], wb[128+32*h:160+32*h], q[128*h:128*h+128]
			for l := range 32 {
				out[l] = int8(ql[l]&0xf|(qh[l]&3)<<4) - 32
				out[l+32] = int8(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				out[l+64] = int8(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				out[l+96] = int8(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
			}
		}
		sc, aq := wb[192:208], ab[4:260]
		var isum int32
		for j := range 16 {
			var sub int32
			for l := 16 * j; l < 16*j+16; l++ {
				sub += int32(q[l]) * int32(int8(aq[l]))
			}
			isum += int32(int8(sc[j])) * sub
		}
		d := half(wb[208:]) * math.Float32frombits(binary.LittleEndian.Uint32(ab))
		s += float32(float32(isum) * d)
	}
	return s
}
