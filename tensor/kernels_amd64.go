//go:build amd64 && !noasm

package tensor

import "golang.org/x/sys/cpu"

// The AVX2 kernels do exactly the float32 operations of the Go code, in the same order and without FMA, so
// their output is bit-identical (tests compare the two on random rows). Build with -tags noasm, or set
// hasAVX2 false in a test, to use the Go code.

// hasAVX2 is fixed at start-up from the CPU's features.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasF16C

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
