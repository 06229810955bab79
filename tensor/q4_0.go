package tensor

import "math"

// Q4_0: blocks of 32 values as {f16 d; u8 qs[16]}; low nibbles hold values 0..15, high nibbles 16..31.

const qk4_0 = 32

// absMax returns the value of largest magnitude with its sign; the first one wins ties, as in ggml.
func absMax(x []float32) (amax, signed float32) {
	// |x| bit patterns order like the values, so an integer max (a conditional move) finds the largest
	// magnitude without a data-dependent branch; a second pass finds its first occurrence.
	var m uint32
	for _, v := range x {
		m = max(m, math.Float32bits(v)&^(1<<31))
	}
	if m == 0 {
		return 0, 0 // ggml keeps max = 0 when every |x| is 0, including for -0
	}
	if m > 0x7f800000 {
		return absMaxNaN(x)
	}
	for _, v := range x {
		if math.Float32bits(v)&^(1<<31) == m {
			return math.Float32frombits(m), v
		}
	}
	return 0, 0
}

// absMaxNaN is ggml's loop verbatim, for blocks holding a NaN (which the comparison skips).
func absMaxNaN(x []float32) (amax, signed float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, signed = a, v
		}
	}
	return amax, signed
}

// abs32 clears the sign bit; a branch on the sign mispredicts half the time on real weights.
func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

func quantizeQ4_0(src []float32, dst []byte) {
	if !quantizeQ4_0Fast(src, dst) {
		quantizeQ4_0Go(src, dst)
	}
}

// quantizeQ4_0Go is ggml's quantize_row_q4_0_ref; the assembly kernel must match it bit for bit.
func quantizeQ4_0Go(src []float32, dst []byte) {
	for b := 0; b < len(src)/qk4_0; b++ {
		x := src[b*qk4_0 : (b+1)*qk4_0]
		y := dst[b*18 : (b+1)*18]
		_, max := absMax(x)
		d := max / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		lo, hi, qs := x[:16], x[16:32], y[2:18]
		for j := range qs {
			xi0 := min(15, truncInt8(float32(lo[j]*id)+8.5))
			xi1 := min(15, truncInt8(float32(hi[j]*id)+8.5))
			qs[j] = byte(xi0) | byte(xi1)<<4
		}
	}
}

func dequantizeQ4_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/qk4_0; b++ {
		y := src[b*18:]
		d := half(y)
		out := dst[b*qk4_0:]
		for j := range 16 {
			out[j] = float32(int32(y[2+j]&0xf)-8) * d
			out[j+16] = float32(int32(y[2+j]>>4)-8) * d
		}
	}
}
