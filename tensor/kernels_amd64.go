//go:build amd64 && !noasm

package tensor

import (
	"os"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Two kinds of kernels. Bit-identical to their Go twins: the Q4_0 quantizer, the fp16 decoder, the AVX2
// Q4_0/Q8_0 block dots (same float32 steps, same order, no FMA) and every K-quant dot (exact integers,
// scalar float steps in the Go order). Exact in their integer parts and accumulating in float with FMA:
// the VNNI Q4_0…Q8_0 kernels, the AVX2 Q4_1/Q5_0/Q5_1 dots and the float kernels; their tests bound the
// difference against float64 references. Build with -tags noasm, or set GLMTOOL_KERNELS=generic, to use
// the Go code alone; GLMTOOL_KERNELS=avx2 keeps the AVX2 set only.

// kernelsOff and avx2Only are read once at start-up: the kernel set is chosen per process, never switched.
var (
	kernelsOff = os.Getenv(KernelsEnv) == "generic"
	avx2Only   = os.Getenv(KernelsEnv) == "avx2"
)

// hasAVX2, hasAVX512 and hasVNNI are fixed at start-up from the CPU's features.
var (
	hasAVX2   = !kernelsOff && cpu.X86.HasAVX2 && cpu.X86.HasF16C
	hasAVX512 = hasAVX2 && !avx2Only && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	hasVNNI   = hasAVX512 && cpu.X86.HasAVX512VNNI
)

// f16ToF32AVX2 converts n halves (n a multiple of 8) with VCVTPH2PS, which is exact.
//
//go:noescape
func f16ToF32AVX2(dst *float32, src *byte, n int)

// quantizeQ4_0AVX2 encodes nb blocks of 32 floats as Q4_0. It stops at the first block holding a NaN and
// returns its index (the caller encodes that block with the Go code, whose comparisons skip NaN as ggml's
// do), or -1 when every block was encoded.
//
//go:noescape
func quantizeQ4_0AVX2(x *float32, y *byte, nb int) int

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

// dotQ4_0Q8_0AVX2 and dotQ8_0Q8_0AVX2 are the block dots of dot.go over nb blocks.
//
//go:noescape
func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32

// The VNNI kernels (acts.go) read packed activations; gemv4 writes four results, for the four activation
// rows that are stride bytes apart.
//
//go:noescape
func gemv1Q4_0VNNI(w, act *byte, pairs int) float32

//go:noescape
func gemv1Q8_0VNNI(w, act *byte, pairs int) float32

//go:noescape
func gemv4Q4_0VNNI(w, act *byte, pairs, stride int, out *float32)

//go:noescape
func gemv4Q8_0VNNI(w, act *byte, pairs, stride int, out *float32)

//go:noescape
func dotQ6_KQ8_KAVX512(w, a *byte, nb int) float32

func addrMod64(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 63 }

// The repacked-row kernels (repack.go) take a row's scales and weights separately.
//
//go:noescape
func gemv1Q4_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv1Q8_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q4_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv4Q8_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

// Float kernels (kernels_float_amd64.s): n is a multiple of 16; dot4 writes four results.
//
//go:noescape
func dot1F16AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot1BF16AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot1F32AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot4F16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4BF16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4F32AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func axpyAVX512(y *float32, a float32, x *float32, n int)

//go:noescape
func dot44F16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot44BF16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot44F32AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

// K-quant dots against Q8_K (kernels_kquant_amd64.s), bit-identical to dot_kquant.go.
//
//go:noescape
func dotQ4_KQ8_KAVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX512(w, a *byte, nb int) float32

// AVX2 + FMA float kernels (kernels_float_avx2_amd64.s) for CPUs without AVX-512.
var hasFMA = hasAVX2 && cpu.X86.HasFMA

//go:noescape
func dot1F16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot1BF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot1F32AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot4F16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4BF16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4F32AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func axpyAVX2(y *float32, a float32, x *float32, n int)

// attnValues4F16AVX2 is attnValues4F16Go for hd a multiple of 16 over one block of keys
// (kernels_float_avx2_amd64.s); vstride is in bytes; add ≠ 0 adds to out instead of setting it.
//
//go:noescape
func attnValues4F16AVX2(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)

// attnValues4F16AVX512 is attnValues4F16AVX2 with 512-bit registers, for hd a multiple of 32
// (kernels_float_amd64.s).
//
//go:noescape
func attnValues4F16AVX512(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)

// expSumAVX512 is expSumGo in 512-bit registers, bit for bit (kernels_float_amd64.s).
//
//go:noescape
func expSumAVX512(x *float32, n int, mx float32) float64

//go:noescape
func gemv1Q4_1X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q4_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv1Q5_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q5_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv1Q5_1X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q5_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32

// AVX2 Q4_1/Q5_0/Q5_1·Q8_0 dots over nb blocks (kernels_q45_avx2_amd64.s).
//
//go:noescape
func dotQ4_1Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_1Q8_0AVX2(w, a *byte, nb int) float32

// AVX2 four-token Q4_0/Q8_0 kernels over nb blocks (kernels_q4q8_avx2_amd64.s): activation rows a0…a3
// in ggml's Q8_0 layout and their block scales s0…s3 as float32; each token gets the one-token kernel's
// bits.
//
//go:noescape
func gemv4Q4_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)

//go:noescape
func gemv4Q8_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)

// dot4Q6_KQ8_KAVX512 is dotQ6_KQ8_KAVX512 for four activation rows at once.
//
//go:noescape
func dot4Q6_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// dot4Q4_KQ8_KAVX512 is dotQ4_KQ8_KAVX512 for four activation rows at once.
//
//go:noescape
func dot4Q4_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// streamSum4AVX2 sums four streams of quarter bytes each, starting quarter apart (tensor/stream.go).
//
//go:noescape
func streamSum4AVX2(p *byte, quarter int) uint64
