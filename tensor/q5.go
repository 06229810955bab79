package tensor

import "encoding/binary"

// Q5_0 {f16 d; u32 qh; u8 qs[16]} and Q5_1 {f16 d; f16 m; u32 qh; u8 qs[16]}: 5-bit values whose low nibbles
// are laid out as in Q4_0 and whose fifth bits are bit j (value j) and bit j+16 (value j+16) of qh.

func quantizeQ5_0(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*22 : (b+1)*22]
		_, max := absMax(x)
		d := max / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putHalf(y, d)
		var qh uint32
		for j := range 16 {
			x0 := float32(x[j] * id)
			x1 := float32(x[16+j] * id)
			xi0 := uint32(min(31, truncInt8(x0+16.5)))
			xi1 := uint32(min(31, truncInt8(x1+16.5)))
			y[6+j] = byte(xi0&0xf) | byte(xi1&0xf)<<4
			qh |= (xi0 & 0x10 >> 4) << j
			qh |= (xi1 & 0x10 >> 4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[2:], qh)
	}
}

func dequantizeQ5_0(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		y := src[b*22:]
		d := half(y)
		qh := binary.LittleEndian.Uint32(y[2:])
		out := dst[b*32:]
		for j := range 16 {
			xh0 := byte((qh>>j)<<4) & 0x10
			xh1 := byte(qh>>(j+12)) & 0x10
			out[j] = float32(int32(y[6+j]&0xf|xh0)-16) * d
			out[j+16] = float32(int32(y[6+j]>>4|xh1)-16) * d
		}
	}
}

func quantizeQ5_1(src []float32, dst []byte) {
	for b := 0; b < len(src)/32; b++ {
		x := src[b*32 : (b+1)*32]
		y := dst[b*24 : (b+1)*24]
		lo, id := affineHead(x, 31, y)
		var qh uint32
		for j := range 16 {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[16+j] - lo) * id)
			// ggml: (uint8_t)(x0 + 0.5f), no clamp
			xi0 := uint32(uint8(int32(x0 + 0.5)))
			xi1 := uint32(uint8(int32(x1 + 0.5)))
			y[8+j] = byte(xi0&0xf) | byte(xi1&0xf)<<4
			qh |= (xi0 & 0x10 >> 4) << j
			qh |= (xi1 & 0x10 >> 4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(y[4:], qh)
	}
}

func dequantizeQ5_1(src []byte, dst []float32) {
	for b := 0; b < len(dst)/32; b++ {
		y := src[b*24:]
		d, m := half(y), half(y[2:])
		qh := binary.LittleEndian.Uint32(y[4:])
		out := dst[b*32:]
		for j := range 16 {
			xh0 := byte((qh>>j)<<4) & 0x10
			xh1 := byte(qh>>(j+12)) & 0x10
			out[j] = float32(float32(y[8+j]&0xf|xh0)*d) + m
			out[j+16] = float32(float32(y[8+j]>>4|xh1)*d) + m
		}
	}
}
