package tensor

import "math"

// F32ToF16 converts to IEEE binary16 with round-to-nearest-even, as ggml's GGML_FP32_TO_FP16 does (both the
// F16C and the portable path). Overflow gives ±Inf; NaN gives the quiet NaN 0x7E00 with the sign kept.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 31 {
		return sign | 0x7c00
	}
	if e >= 1 {
		q := mant >> 13
		r := mant & 0x1fff
		h := uint32(e)<<10 | q
		if r > 0x1000 || (r == 0x1000 && q&1 == 1) {
			h++ // a carry into the exponent is the correct rounding, up to Inf
		}
		return sign | uint16(h)
	}
	// The result is subnormal (or zero): its unit is 2^-24.
	if e < -10 {
		return sign
	}
	m := mant | 0x800000
	shift := uint32(14 - e)
	q := m >> shift
	r := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if r > half || (r == half && q&1 == 1) {
		q++
	}
	return sign | uint16(q)
}

// F16ToF32 converts IEEE binary16 to float32 exactly.
func F16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: normalise the mantissa.
	e := uint32(113)
	for mant&0x400 == 0 {
		mant <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
}

// F32ToBF16 converts to bfloat16 with round-to-nearest-even, as ggml_compute_fp32_to_bf16 does: NaN is kept
// and forced quiet (bit 6 set), subnormals are rounded like any other value.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 64
	}
	return uint16((u + (0x7fff + (u>>16)&1)) >> 16)
}

// BF16ToF32 converts bfloat16 to float32 exactly.
func BF16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }
