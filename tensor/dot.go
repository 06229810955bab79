package tensor

import (
	"encoding/binary"
	"math"
)

// Block dot products between a weight row and activations quantized to Q8_0, as ggml's CPU backend does
// (vec_dot_q4_0_q8_0, vec_dot_q8_0_q8_0): exact integer sums within a block, scaled by dw·da.

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

// The block dots keep eight float32 partial sums, one per group of four values, as the AVX2 kernels keep
// them in a vector register: lane k of block b adds float32(Σ_{j=4k}^{4k+3} w_j·a_j)·(dw·da). The final
// reduction adds the lanes in the kernel's order. Integer sums are exact and every float step is written out
// (no FMA), so the Go and assembly versions agree bit for bit.

func reduceLanes(acc *[8]float32) float32 {
	x0, x1, x2, x3 := acc[0]+acc[4], acc[1]+acc[5], acc[2]+acc[6], acc[3]+acc[7]
	return float32(x0+x2) + float32(x1+x3)
}

func dotQ4_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	var wq [32]int32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*18 : b*18+18]
		ab := a[b*34 : b*34+34]
		for j, q := range wb[2:18] {
			wq[j], wq[j+16] = int32(q&0xf)-8, int32(q>>4)-8
		}
		d := float32(half(wb) * half(ab))
		aq := ab[2:34]
		for k := range 8 {
			li := wq[4*k]*int32(int8(aq[4*k])) + wq[4*k+1]*int32(int8(aq[4*k+1])) +
				wq[4*k+2]*int32(int8(aq[4*k+2])) + wq[4*k+3]*int32(int8(aq[4*k+3]))
			acc[k] += float32(float32(li) * d)
		}
	}
	return reduceLanes(&acc)
}

func dotQ8_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*34 : b*34+34]
		ab := a[b*34 : b*34+34]
		d := float32(half(wb) * half(ab))
		wq, aq := wb[2:34], ab[2:34]
		for k := range 8 {
			var li int32
			for j := 4 * k; j < 4*k+4; j++ {
				li += int32(int8(wq[j])) * int32(int8(aq[j]))
			}
			acc[k] += float32(float32(li) * d)
		}
	}
	return reduceLanes(&acc)
}

// DotQ6_KQ8_K is ggml's vec_dot_q6_K_q8_K: per 256-value super-block, the 6-bit weights minus 32 times the
// int8 activations, summed exactly per 16-value sub-block and weighted by its int8 scale, then
// float32(sum)·(dw·da) added to the total.
func DotQ6_KQ8_K(w, a []byte) float32 {
	nb := len(a) / 292
	switch {
	case nb == 0:
		return 0
	case hasAVX512:
		return dotQ6_KQ8_KAVX512(&w[0], &a[0], nb)
	case hasAVX2:
		return dotQ6_KQ8_KAVX2(&w[0], &a[0], nb)
	}
	return dotQ6_KQ8_KGo(w, a)
}

func dotQ6_KQ8_KGo(w, a []byte) float32 {
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
