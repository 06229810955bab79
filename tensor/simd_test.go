package tensor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSIMDMatchesGo: the Q4_0 quantizer and the fp16 decoder (the AVX2 kernels where the CPU has them,
// else the Go twins) give exactly what the Go code gives, on random rows with zeros, ± ties of the
// largest magnitude, tiny values and NaN blocks.
func TestSIMDMatchesGo(t *testing.T) {
	t.Logf("AVX2 kernels in use: %v", hasAVX2)
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 200 {
		n := 32 * (1 + rng.IntN(64))
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3)))
			switch rng.IntN(40) {
			case 0:
				x[i] = 0
			case 1:
				x[i] = float32(math.Copysign(0, -1))
			case 2:
				x[i] = -x[max(0, i-1)]
			}
		}
		if trial%5 == 0 {
			x[rng.IntN(n)] = float32(math.NaN())
		}
		if trial%7 == 0 {
			clear(x[:32]) // an all-zero block
		}
		want, got := make([]byte, n/32*18), make([]byte, n/32*18)
		quantizeQ4_0Go(x, want)
		quantizeQ4_0(x, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d: Q4_0 kernel differs from the Go code", trial)
		}
		h := make([]byte, 2*(n+rng.IntN(8)))
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		m := len(h) / 2
		fast, slow := make([]float32, m), make([]float32, m)
		dequantizeF16(h, fast)
		for i := range slow {
			slow[i] = F16ToF32(uint16(h[2*i]) | uint16(h[2*i+1])<<8)
		}
		for i := range fast {
			if math.Float32bits(fast[i]) != math.Float32bits(slow[i]) && !(math.IsNaN(float64(fast[i])) && math.IsNaN(float64(slow[i]))) {
				t.Fatalf("trial %d: F16 %#04x decodes to %g, want %g", trial, uint16(h[2*i])|uint16(h[2*i+1])<<8, fast[i], slow[i])
			}
		}
	}
}
