//go:build !amd64 || noasm

package tensor

import "unsafe"

// Without assembly every kernel is the Go code.

const (
	hasAVX2   = false
	hasAVX512 = false
	hasVNNI   = false
)

func dequantizeF16Fast([]byte, []float32) bool { return false }
func quantizeQ4_0Fast([]float32, []byte) bool  { return false }

func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }

func gemv1Q4_0VNNI(w, act *byte, pairs int) float32 { panic("unreachable: no assembly in this build") }
func gemv1Q8_0VNNI(w, act *byte, pairs int) float32 { panic("unreachable: no assembly in this build") }
func gemv4Q4_0VNNI(w, act *byte, pairs, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func gemv4Q8_0VNNI(w, act *byte, pairs, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dotQ6_KQ8_KAVX512(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func addrMod64([]byte) uintptr                     { return 0 }

func gemv1Q4_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	panic("unreachable: no assembly in this build")
}
func gemv1Q8_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	panic("unreachable: no assembly in this build")
}
func gemv4Q4_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func gemv4Q8_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func dot1F16AVX512(w *byte, x *float32, n int) float32 {
	panic("unreachable: no assembly in this build")
}
func dot1BF16AVX512(w *byte, x *float32, n int) float32 {
	panic("unreachable: no assembly in this build")
}
func dot1F32AVX512(w *byte, x *float32, n int) float32 {
	panic("unreachable: no assembly in this build")
}
func dot4F16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot4BF16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot4F32AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func axpyAVX512(y *float32, a float32, x *float32, n int) {
	panic("unreachable: no assembly in this build")
}

func dot44F16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot44BF16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot44F32AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func dotQ4_KQ8_KAVX512(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ5_KQ8_KAVX512(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }

const hasFMA = false

func dot1F16AVX2(w *byte, x *float32, n int) float32 { panic("unreachable: no assembly in this build") }
func dot1BF16AVX2(w *byte, x *float32, n int) float32 {
	panic("unreachable: no assembly in this build")
}
func dot1F32AVX2(w *byte, x *float32, n int) float32 { panic("unreachable: no assembly in this build") }
func dot4F16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot4BF16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func dot4F32AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	panic("unreachable: no assembly in this build")
}
func axpyAVX2(y *float32, a float32, x *float32, n int) {
	panic("unreachable: no assembly in this build")
}

// attnValues4F16AVX2 is the Go code in this build (AttnValuesF16 never calls it here: hasFMA is false).
func attnValues4F16AVX2(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int) {
	s := unsafe.Slice(scores, 3*sstride+nk)
	v := unsafe.Slice((*uint16)(unsafe.Pointer(vals)), ((nk-1)*vstride)/2+hd)
	o := unsafe.Slice(out, 4*hd)
	if add == 0 {
		clear(o)
	}
	attnValues4F16Go(s, sstride, v, vstride/2, nk, hd, 4, o)
}

// attnValues4F16AVX512 is the same Go code (AttnValuesF16 never calls it here: hasAVX512 is false).
func attnValues4F16AVX512(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int) {
	attnValues4F16AVX2(scores, sstride, vals, vstride, nk, hd, out, add)
}

// expSumAVX512 is expSumGo (ExpSum never calls it here: hasAVX512 is false).
func expSumAVX512(x *float32, n int, mx float32) float64 {
	return expSumGo(unsafe.Slice(x, n), mx)
}

func gemv1Q4_1X4VNNI(scales, weights, act *byte, groups int) float32 {
	panic("unreachable: no assembly in this build")
}
func gemv4Q4_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func gemv1Q5_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	panic("unreachable: no assembly in this build")
}
func gemv4Q5_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func gemv1Q5_1X4VNNI(scales, weights, act *byte, groups int) float32 {
	panic("unreachable: no assembly in this build")
}
func gemv4Q5_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }

func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }

func dotQ4_1Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ5_1Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }

// gemv4Q4_0AVX2 and gemv4Q8_0AVX2 are the four-token kernels' Go twins: each token's one-token dot (the
// kernels give each token exactly its bits; the float scales are the activations' own, so unused here).
func gemv4Q4_0AVX2(w, a0, a1, a2, a3 *byte, _, _, _, _ *float32, nb int, out *float32) {
	gemv4Go(dotQ4_0Q8_0Go, unsafe.Slice(w, nb*18), [4]*byte{a0, a1, a2, a3}, nb, out)
}

func gemv4Q8_0AVX2(w, a0, a1, a2, a3 *byte, _, _, _, _ *float32, nb int, out *float32) {
	gemv4Go(dotQ8_0Q8_0Go, unsafe.Slice(w, nb*34), [4]*byte{a0, a1, a2, a3}, nb, out)
}

func gemv4Go(dot func(w, a []byte) float32, w []byte, acts [4]*byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for t, a := range acts {
		res[t] = dot(w, unsafe.Slice(a, nb*34))
	}
}

func dot4Q6_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func dot4Q4_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	panic("unreachable: no assembly in this build")
}

func streamSum4AVX2(p *byte, quarter int) uint64 { panic("unreachable: no assembly in this build") }
