//go:build !amd64 || noasm

package tensor

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
