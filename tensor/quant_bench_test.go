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

// BenchmarkDotQ6_K compares the Q6_K·Q8_K integer dot with decoding the row and a float dot.
func BenchmarkDotQ6_K(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	w, a := make([]byte, 16*210), make([]byte, 16*292)
	_ = Quantize(Q6_K, x, w)
	_ = Quantize(Q8_K, y, a)
	row := make([]float32, 4096)
	b.Run("int", func(b *testing.B) {
		for b.Loop() {
			_ = DotQ6_KQ8_K(w, a)
		}
	})
	b.Run("decode+float", func(b *testing.B) {
		for b.Loop() {
			_ = Dequantize(Q6_K, w, row)
			var s float32
			for i, v := range row {
				s += v * y[i]
			}
			_ = s
		}
	})
}
