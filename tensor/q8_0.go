package tensor

import "math"

// Q8_0: blocks of 32 values as {f16 d; i8 qs[32]}. It is also the activation format for the Q4_0, Q5_0 and
// Q8_0 dot products.

func quantizeQ8_0(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*34 : (b+1)*34]
		amax, _ := absMax(x)
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		for j, v := range x {
			// roundf (half away from zero): adding ±0.5 is exact in float64, and the conversion truncates.
			p := float64(v * id)
			y[2+j] = byte(int8(int32(p + math.Copysign(0.5, p))))
		}
	}
}

func dequantizeQ8_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		y := src[b*34:]
		d := half(y)
		out := dst[b*32:]
		for j := range 32 {
			out[j] = float32(int8(y[2+j])) * d
		}
	}
}
