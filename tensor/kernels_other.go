//go:build !amd64 || noasm

package tensor

// Without assembly every kernel is the Go code.

const hasAVX2 = false

func dequantizeF16Fast([]byte, []float32) bool { return false }
func quantizeQ4_0Fast([]float32, []byte) bool  { return false }

func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32 { panic("unreachable: no assembly in this build") }
