package tensor

import (
	"math"
	"unsafe"
)

// F32ToF16 converts to IEEE binary16 with round-to-nearest-even. It is ggml's portable
// ggml_compute_fp32_to_fp16 (from the FP16 library), which lets the FPU do the rounding and has no
// data-dependent branch: overflow gives ±Inf, NaN gives 0x7E00 with the sign kept.
func F32ToF16(f float32) uint16 {
	const scaleToInf = 0x1.0p+112
	const scaleToZero = 0x1.0p-110
	base := float32(float32(abs32(f)*scaleToInf) * scaleToZero)
	w := math.Float32bits(f)
	shl1 := w + w
	sign := w & 0x80000000
	bias := max(shl1&0xFF000000, 0x71000000)
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7C00 + bits&0x0FFF
	if shl1 > 0xFF000000 {
		nonsign = 0x7E00
	}
	return uint16(sign>>16) | uint16(nonsign)
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

// F16ToF32s converts len(dst) halves.
func F16ToF32s(src []uint16, dst []float32) {
	if len(dst) == 0 {
		return
	}
	if !dequantizeF16Fast(unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), 2*len(dst)), dst) {
		for i := range dst {
			dst[i] = f16Table[src[i]]
		}
	}
}
