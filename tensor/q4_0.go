package tensor

// Q4_0: blocks of 32 values as {f16 d; u8 qs[16]}; low nibbles hold values 0..15, high nibbles 16..31.

const qk4_0 = 32

// absMax returns the value of largest magnitude with its sign; the first one wins ties, as in ggml.
func absMax(x []float32) (amax, max float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return amax, max
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

func quantizeQ4_0(src []float32, dst []byte) {
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
		for j := range 16 {
			x0 := x[j] * id
			x1 := x[16+j] * id
			xi0 := min(15, truncInt8(x0+8.5))
			xi1 := min(15, truncInt8(x1+8.5))
			y[2+j] = byte(xi0) | byte(xi1)<<4
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
