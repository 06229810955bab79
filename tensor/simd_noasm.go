//go:build !amd64 || noasm

package tensor

import "unsafe"

// Without assembly the kernels below are their Go twins (never called: hasAVX2 is false).
const hasAVX2 = false

// f16ToF32AVX2 is the table decoder.
func f16ToF32AVX2(dst *float32, src *byte, n int) {
	s, d := unsafe.Slice(src, 2*n), unsafe.Slice(dst, n)
	for i := range d {
		d[i] = half(s[2*i:])
	}
}

// quantizeQ4_0AVX2 is quantizeQ4_0Go over all nb blocks (the Go code handles NaN blocks itself).
func quantizeQ4_0AVX2(x *float32, y *byte, nb int) int {
	quantizeQ4_0Go(unsafe.Slice(x, 32*nb), unsafe.Slice(y, 18*nb))
	return -1
}
