package tensor

import (
	"encoding/binary"
	"math"
)

// Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: super-blocks of 256 values in 16 sub-blocks of 16, each
// with an 8-bit scale; values are 6 bits (low 4 in ql, high 2 in qh) minus 32. Note d comes last.

func quantizeQ6_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [16]float32
	for b := 0; b < len(src)/QK_K; b++ {
		x := src[b*QK_K : (b+1)*QK_K]
		y := dst[b*210 : (b+1)*210]
		var maxScale, maxAbsScale float32
		for ib := range 16 {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:16*ib+16])
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		putHalf(y[208:], 1/iscale)
		sc := y[192:208]
		for ib := range 16 {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		d := half(y[208:])
		for j := range 16 {
			dd := d * float32(int8(sc[j]))
			if dd == 0 {
				continue
			}
			for ii := range 16 {
				l := nearestInt(x[16*j+ii] / dd)
				L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
			}
		}
		ql, qh := y[0:128], y[128:192]
		for j := 0; j < QK_K; j += 128 {
			for l := range 32 {
				q1 := uint8(L[j+l]) & 0xf
				q2 := uint8(L[j+l+32]) & 0xf
				q3 := uint8(L[j+l+64]) & 0xf
				q4 := uint8(L[j+l+96]) & 0xf
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
			ql = ql[64:]
			qh = qh[32:]
		}
	}
}

func dequantizeQ6_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/QK_K; b++ {
		y := src[b*210:]
		d := half(y[208:])
		ql, qh, sc := y[0:128], y[128:192], y[192:208]
		out := dst[b*QK_K:]
		for range 2 {
			for l := range 32 {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				out[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				out[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				out[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				out[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
			ql, qh, sc, out = ql[64:], qh[32:], sc[8:], out[128:]
		}
	}
}

// Q8_K {f32 d; i8 qs[256]; i16 bsums[16]} is the activation format for K-quant dot products.

func quantizeQ8_K(src []float32, dst []byte) {
	for b := 0; b < len(src)/QK_K; b++ {
		x := src[b*QK_K : (b+1)*QK_K]
		y := dst[b*292 : (b+1)*292]
		amax, maxv := absMax(x)
		if amax == 0 {
			clear(y)
			continue
		}
		iscale := -127 / maxv
		qs := y[4:260]
		for j, v := range x {
			qs[j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := range 16 {
			var sum int16
			for ii := range 16 {
				sum += int16(int8(qs[16*j+ii]))
			}
			binary.LittleEndian.PutUint16(y[260+2*j:], uint16(sum))
		}
		binary.LittleEndian.PutUint32(y, math.Float32bits(1/iscale))
	}
}

func dequantizeQ8_K(src []byte, dst []float32) {
	for b := 0; b < len(dst)/QK_K; b++ {
		y := src[b*292:]
		d := math.Float32frombits(binary.LittleEndian.Uint32(y))
		for j := range QK_K {
			dst[b*QK_K+j] = d * float32(int8(y[4+j]))
		}
	}
}
