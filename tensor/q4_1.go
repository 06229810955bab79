package tensor

// Q4_1: blocks of 32 values as {f16 d; f16 m; u8 qs[16]}, value = q*d + m.

func minMax(x []float32) (lo, hi float32) {
	lo, hi = 3.4028234663852886e38, -3.4028234663852886e38
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// affineHead is the start of quantize_row_q4_1_ref / q5_1_ref: d = (max-min)/levels and m = min stored as
// fp16 in y, and the min and 1/d (0 for a constant block) the levels are computed with.
func affineHead(x []float32, levels float32, y []byte) (lo, id float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / levels
	if d != 0 {
		id = 1 / d
	}
	putHalf(y, d)
	putHalf(y[2:], lo)
	return lo, id
}

func quantizeQ4_1(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*20 : (b+1)*20]
		lo, id := affineHead(x, 15, y)
		for j := range 16 {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[16+j] - lo) * id)
			xi0 := min(15, truncInt8(x0+0.5))
			xi1 := min(15, truncInt8(x1+0.5))
			y[4+j] = byte(xi0) | byte(xi1)<<4
		}
	}
}

func dequantizeQ4_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		y := src[b*20:]
		d, m := half(y), half(y[2:])
		out := dst[b*32:]
		for j := range 16 {
			out[j] = float32(float32(y[4+j]&0xf)*d) + m
			out[j+16] = float32(float32(y[4+j]>>4)*d) + m
		}
	}
}
