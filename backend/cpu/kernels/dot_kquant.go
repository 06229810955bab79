package kernels

import (
	"encoding/binary"
	"math"

	"github.com/glmtool/glmtool/tensor"
)

// Q4_K and Q5_K rows against Q8_K activations (ggml's vec_dot_q4_K_q8_K, vec_dot_q5_K_q8_K): per
// super-block the exact integer Σ_j scale_j·Σ q·a over the eight 32-value sub-blocks and Σ_j min_j·(the
// activation sums of sub-block j), then s += isum·(d·da) and s −= msum·(dmin·da) in float32, in that
// order. The AVX-512 and AVX2 kernels compute the same integers and the same float steps, so they agree bit for bit.

// dotQ4_KQ8_KGo and dotQ5_KQ8_KGo are ggml's vec_dot_q4_K_q8_K and vec_dot_q5_K_q8_K in Go.
func dotQ4_KQ8_KGo(w, a []byte) float32 { return dotKQ8_KGo(w, a, 144, false) }

func dotQ5_KQ8_KGo(w, a []byte) float32 { return dotKQ8_KGo(w, a, 176, true) }

// DotKQ8_K is the dot product of a Q4_K, Q5_K or Q6_K row with a Q8_K row of the same length.
func (s *Set) DotKQ8_K(t tensor.Type, w, a []byte) float32 { return s.traits[t].dot(w, a) }

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
			scale, m := tensor.ScaleMinK4(j, sc)
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
		d, dmin := tensor.HalfAt(wb)*da, tensor.HalfAt(wb[2:])*da
		s += float32(float32(isum) * d)
		s -= float32(float32(msum) * dmin)
	}
	return s
}

// DotKQ8_K4 sets out[i] = DotKQ8_K(t, w, a[i]) for four activation rows, bit for bit the same values,
// sharing the unpacking of the weights. It returns false, doing nothing, where the set has no four-token
// kernel for t (AVX-512 has them for Q4_K and Q6_K, AVX2 for Q4_K and Q5_K).
func (s *Set) DotKQ8_K4(t tensor.Type, w []byte, a [4][]byte, out []float32) bool {
	k := s.traits[t].dot4
	if k == nil || len(a[0]) < 292 || len(out) < 4 {
		return false
	}
	k(w, a, out)
	return true
}

// dotQ6_KQ8_KGo is ggml's vec_dot_q6_K_q8_K: per 256-value super-block, the 6-bit weights minus 32 times
// the int8 activations, summed exactly per 16-value sub-block and weighted by its int8 scale, then
// float32(sum)·(dw·da) added to the total.
func dotQ6_KQ8_KGo(w, a []byte) float32 {
	var s float32
	var q [tensor.QK_K]int8
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
		d := tensor.HalfAt(wb[208:]) * math.Float32frombits(binary.LittleEndian.Uint32(ab))
		s += float32(float32(isum) * d)
	}
	return s
}
