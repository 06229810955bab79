package infer

import (
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// BenchmarkDot reports the row-dot kernels' speed on a 4096-wide row (GB/s of weight data).
func BenchmarkDot(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	q8x := make([]byte, 4096/32*34)
	buf := make([]float32, 4096)
	_ = tensor.Quantize(tensor.Q8_0, x, q8x)
	for _, c := range []struct {
		typ tensor.Type
		fn  func(row []byte) float32
	}{
		{tensor.Q4_0, func(r []byte) float32 { return tensor.DotQ4_0Q8_0(r, q8x) }},
		{tensor.Q8_0, func(r []byte) float32 { return tensor.DotQ8_0Q8_0(r, q8x) }},
		{tensor.F16, func(r []byte) float32 { _ = tensor.Dequantize(tensor.F16, r, buf); return tensor.DotF32(buf, x) }},
		{tensor.F32, func(r []byte) float32 { return dotF32(r, x) }},
	} {
		rb, _ := c.typ.RowBytes(4096)
		row := make([]byte, rb)
		_ = tensor.Quantize(c.typ, x, row)
		b.Run(c.typ.String(), func(b *testing.B) {
			b.SetBytes(rb)
			for b.Loop() {
				_ = c.fn(row)
			}
		})
	}
}
