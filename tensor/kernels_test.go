package tensor

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsMatchGo: the assembly kernels (when the CPU has them) give exactly what the Go code gives,
// on random rows with zeros, ± ties of the largest magnitude, tiny values and NaN blocks.
func TestKernelsMatchGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/F16C on this CPU (or built with -tags noasm): only the Go kernels exist here")
	}
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

// TestDotKernelsMatchGo: the assembly block dots equal the Go ones bit for bit (integer sums are exact
// and the float steps run in the same order).
func TestDotKernelsMatchGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2/F16C on this CPU (or built with -tags noasm): only the Go kernels exist here")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 300 {
		n := 32 * (1 + rng.IntN(200))
		x := make([]float32, n)
		y := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			y[i] = float32(rng.NormFloat64() * 3)
		}
		a := make([]byte, n/32*34)
		_ = Quantize(Q8_0, y, a)
		w4 := make([]byte, n/32*18)
		_ = Quantize(Q4_0, x, w4)
		w8 := make([]byte, n/32*34)
		_ = Quantize(Q8_0, x, w8)
		if trial%10 == 0 {
			for i := 2; i < len(w8); i += 34 {
				w8[i] = 0x80 // -128, which ggml's SIMD code also meets in files from other writers
			}
		}
		if g, w := dotQ4_0Q8_0AVX2(&w4[0], &a[0], n/32), dotQ4_0Q8_0Go(w4, a); math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("trial %d: Q4_0·Q8_0 %g, Go %g", trial, g, w)
		}
		if g, w := dotQ8_0Q8_0AVX2(&w8[0], &a[0], n/32), dotQ8_0Q8_0Go(w8, a); math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("trial %d: Q8_0·Q8_0 %g, Go %g", trial, g, w)
		}
	}
}

// TestDotQ6_KQ8_K checks the integer Q6_K·Q8_K dot against a float64 dot of the dequantized rows.
func TestDotQ6_KQ8_K(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		n := 256 * (1 + rng.IntN(16))
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		w, a := make([]byte, n/256*210), make([]byte, n/256*292)
		_ = Quantize(Q6_K, x, w)
		_ = Quantize(Q8_K, y, a)
		xd, yd := make([]float32, n), make([]float32, n)
		_ = Dequantize(Q6_K, w, xd)
		_ = Dequantize(Q8_K, a, yd)
		var want, mag float64
		for i := range xd {
			want += float64(xd[i]) * float64(yd[i])
			mag += math.Abs(float64(xd[i]) * float64(yd[i]))
		}
		if got := DotQ6_KQ8_K(w, a); math.Abs(float64(got)-want) > 1e-5*mag {
			t.Fatalf("n=%d: %g, float64 reference %g", n, got, want)
		}
	}
}
