package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkQuantize reports the reference quantizers' throughput on a 4096-wide row, in source-F32 MB/s.
func BenchmarkQuantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	// Many distinct rows, so that the branch predictor cannot learn one row's pattern.
	const rows = 256
	x := make([]float32, 4096*rows)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, typ := range []Type{F16, Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q6_K} {
		rb, _ := typ.RowBytes(4096)
		dst := make([]byte, rb)
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(4 * 4096)
			i := 0
			for b.Loop() {
				_ = Quantize(typ, x[i*4096:(i+1)*4096], dst)
				i = (i + 1) % rows
			}
		})
	}
}

// BenchmarkDequantize reports decode throughput in output-F32 MB/s.
func BenchmarkDequantize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for _, typ := range []Type{F16, BF16, Q4_0, Q8_0, Q4_K, Q6_K} {
		rb, _ := typ.RowBytes(4096)
		src := make([]byte, rb)
		_ = Quantize(typ, x, src)
		b.Run(fmt.Sprint(typ), func(b *testing.B) {
			b.SetBytes(4 * 4096)
			for b.Loop() {
				_ = Dequantize(typ, src, x)
			}
		})
	}
}
