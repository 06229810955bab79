package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The reference quantizers below reproduce ggml's quantize_row_*_ref (ggml-quants.c, llama.cpp c392e509)
// bit for bit. ggml's reference code is compiled without FMA, so every a*b+c here is written
// float32(a*b) + c: the explicit conversion forbids Go from fusing it on FMA-capable targets.

// f16Table decodes every binary16 value; a lookup is several times faster than the bit manipulation and
// F16 → F32 is on the hot path of quantize and of F16 inference.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = F16ToF32(uint16(i))
	}
	return &t
}()

// half reads a little-endian binary16 at b[0:2] as float32.
func half(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

func putHalf(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }

// nearestInt is ggml's nearest_int: round half to even via the 1.5·2^23 trick, valid for |f| <= 4194303.
func nearestInt(f float32) int32 {
	val := float32(f) + 12582912 // the conversion keeps a product argument from fusing into an FMA
	return int32(math.Float32bits(val)&0x007fffff) - 0x00400000
}

// truncInt8 is C's (int8_t)(float) for the values the quantizers produce: truncation toward zero.
func truncInt8(f float32) int32 { return int32(int8(int32(f))) }

// rowQuantizer encodes one row (a multiple of the block size) into dst.
type rowQuantizer func(src []float32, dst []byte)

// rowDequantizer decodes one row of blocks into dst.
type rowDequantizer func(src []byte, dst []float32)

var quantizers = map[Type]rowQuantizer{
	F32: quantizeF32, F16: quantizeF16, BF16: quantizeBF16,
	Q4_0: quantizeQ4_0, Q4_1: quantizeQ4_1, Q5_0: quantizeQ5_0, Q5_1: quantizeQ5_1, Q8_0: quantizeQ8_0,
	Q4_K: quantizeQ4_K, Q5_K: quantizeQ5_K, Q6_K: quantizeQ6_K, Q8_K: quantizeQ8_K,
}

var dequantizers = map[Type]rowDequantizer{
	F32: dequantizeF32, F16: dequantizeF16, BF16: dequantizeBF16,
	Q4_0: dequantizeQ4_0, Q4_1: dequantizeQ4_1, Q5_0: dequantizeQ5_0, Q5_1: dequantizeQ5_1, Q8_0: dequantizeQ8_0,
	Q4_K: dequantizeQ4_K, Q5_K: dequantizeQ5_K, Q6_K: dequantizeQ6_K, Q8_K: dequantizeQ8_K,
}

// CanQuantize reports whether Quantize can produce type t.
func CanQuantize(t Type) bool { _, ok := quantizers[t]; return ok }

// CanDequantize reports whether Dequantize can read type t.
func CanDequantize(t Type) bool { _, ok := dequantizers[t]; return ok }

// Quantize encodes src into dst as type t. len(src) must be a multiple of t's block size and dst must be
// exactly the encoded size. Quantized types use ggml's reference quantizers (no importance matrix), so the
// bytes equal llama-quantize's.
func Quantize(t Type, src []float32, dst []byte) error {
	q, ok := quantizers[t]
	if !ok {
		return fmt.Errorf("quantize to %s is not supported", t)
	}
	n, err := t.RowBytes(int64(len(src)))
	if err != nil {
		return err
	}
	if int64(len(dst)) != n {
		return fmt.Errorf("quantize %d values to %s: destination holds %d bytes, want %d", len(src), t, len(dst), n)
	}
	q(src, dst)
	return nil
}

// Dequantize decodes src, a whole number of blocks of type t, into dst, which must hold exactly the values.
func Dequantize(t Type, src []byte, dst []float32) error {
	d, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("dequantize from %s is not supported", t)
	}
	n, err := t.RowBytes(int64(len(dst)))
	if err != nil {
		return err
	}
	if int64(len(src)) != n {
		return fmt.Errorf("dequantize %d values of %s: source holds %d bytes, want %d", len(dst), t, len(src), n)
	}
	d(src, dst)
	return nil
}

func quantizeF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func dequantizeF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func quantizeF16(src []float32, dst []byte) {
	for i, v := range src {
		putHalf(dst[2*i:], v)
	}
}

func dequantizeF16(src []byte, dst []float32) {
	if dequantizeF16Fast(src, dst) {
		return
	}
	src = src[:2*len(dst)]
	for i := range dst {
		dst[i] = f16Table[uint16(src[2*i])|uint16(src[2*i+1])<<8]
	}
}

func quantizeBF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

func dequantizeBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}
