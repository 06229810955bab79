//go:build !amd64 || noasm

package tensor

// Without assembly every kernel is the Go code.

const hasAVX2 = false

func dequantizeF16Fast([]byte, []float32) bool { return false }
func quantizeQ4_0Fast([]float32, []byte) bool  { return false }
