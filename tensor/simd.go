package tensor

// The two assembly kernels this package keeps, for its own conversions: the fp16 decoder and the Q4_0
// quantizer, both bit-identical to their Go code (the compute kernels live in backend/cpu/kernels).

// dequantizeF16Fast decodes with the AVX2 kernel and reports whether it did (false: no AVX2 here).
func dequantizeF16Fast(src []byte, dst []float32) bool {
	n := len(dst) &^ 7
	if !hasAVX2 || n == 0 {
		return false
	}
	f16ToF32AVX2(&dst[0], &src[0], n)
	for i := n; i < len(dst); i++ {
		dst[i] = half(src[2*i:])
	}
	return true
}

// quantizeQ4_0Fast encodes with the AVX2 kernel and reports whether it did (false: no AVX2 here).
func quantizeQ4_0Fast(src []float32, dst []byte) bool {
	if !hasAVX2 {
		return false
	}
	nb := len(src) / 32
	for from := 0; from < nb; {
		k := quantizeQ4_0AVX2(&src[from*32], &dst[from*18], nb-from)
		if k < 0 {
			break
		}
		b := from + k
		quantizeQ4_0Go(src[b*32:b*32+32], dst[b*18:b*18+18])
		from = b + 1
	}
	return true
}

// HalfAt reads a little-endian binary16 at b[0:2] as float32 (a table lookup: the kernels' scale decoder).
func HalfAt(b []byte) float32 { return half(b) }

// QuantizeQ8_0 is Quantize(Q8_0, src, dst) without the checks, for the activation rows of every matrix
// product (src a multiple of 32 values, dst exactly len(src)/32·34 bytes).
func QuantizeQ8_0(src []float32, dst []byte) { quantizeQ8_0(src, dst) }

// ScaleMinK4 unpacks scale j and min j from the 12-byte Q4_K/Q5_K scales field (ggml's get_scale_min_k4).
func ScaleMinK4(j int, q []byte) (sc, m uint8) { return scaleMinK4(j, q) }
