package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// randomBlocks fills rows of blockBytes-byte blocks with random bytes whose leading f16 scale is finite.
func randomBlocks(rng *rand.Rand, n, blockBytes int) []byte {
	b := make([]byte, n*blockBytes)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	for i := 0; i < len(b); i += blockBytes {
		binary.LittleEndian.PutUint16(b[i:], tensor.F32ToF16(float32(rng.NormFloat64()*0.02)))
	}
	return b
}

// exactBlockDot is Σ_b isum_b·dw_b·da_b in float64, and the scale of the rounding error a float32
// accumulation can make: Σ_b |dw_b·da_b|·Σ_j (|w_j|+bias)·|a_j|, which covers kernels that take the
// weights' bias off in float (the repacked ones) as well as exact integer blocks.
func exactBlockDot(w, a []byte, wBlock int, bias int64, weight func(blk []byte, j int) int32) (sum, abs float64) {
	for b := 0; b < len(a)/34; b++ {
		wb, ab := w[b*wBlock:(b+1)*wBlock], a[b*34:(b+1)*34]
		var isum, iabs int64
		for j := range 32 {
			wj, aj := int64(weight(wb, j)), int64(int8(ab[2+j]))
			isum += wj * aj
			iabs += (max(wj, -wj) + bias) * max(aj, -aj)
		}
		d := float64(float32(tensor.HalfAt(wb) * tensor.HalfAt(ab)))
		sum += float64(isum) * d
		abs += float64(iabs) * math.Abs(d)
	}
	return sum, abs
}

func q4Value(blk []byte, j int) int32 {
	if j < 16 {
		return int32(blk[2+j]&0xf) - 8
	}
	return int32(blk[2+j-16]>>4) - 8
}

func q8Value(blk []byte, j int) int32 { return int32(int8(blk[2+j])) }

// checkQ8ActsDot checks every path of Q8Acts.Dot and DotRepacked (four-token and one-token kernels, odd
// block counts, row offsets) against the block dot in float64: integer parts are exact, so the only difference allowed is
// float32 rounding of the block terms, at most (blocks+16)·2^-23 of Σ|term|.
func checkQ8ActsDot(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, c := range []struct {
		typ        tensor.Type
		blockBytes int
		bias       int64
		value      func([]byte, int) int32
	}{{tensor.Q4_0, 18, 8, q4Value}, {tensor.Q8_0, 34, 128, q8Value}} {
		for _, cols := range []int{32, 64, 96, 160, 4096, 13696} {
			nb := cols / 32
			rows := 1 + rng.IntN(9)
			x := make([][]float32, rows)
			for i := range x {
				x[i] = make([]float32, cols)
				for j := range x[i] {
					x[i][j] = float32(rng.NormFloat64())
				}
				if i == 0 {
					x[i][0] = 40 // a block whose activations round to ±127
				}
			}
			acts, actsR := s.Q8Acts(), s.Q8Acts()
			if err := acts.Set(x, cols, c.typ, false); err != nil {
				t.Fatal(err)
			}
			w := randomBlocks(rng, nb, c.blockBytes)
			repacked := s.CanRepack(c.typ, cols)
			wr := make([]byte, len(w))
			if repacked {
				RepackRow(c.typ, w, wr)
				if err := actsR.Set(x, cols, c.typ, true); err != nil {
					t.Fatal(err)
				}
			}
			for t0 := range rows {
				out := make([]float32, rows-t0)
				acts.Dot(w, t0, out)
				if repacked {
					both := make([]float32, len(out))
					actsR.DotRepacked(wr, t0, both)
					out = append(out, both...)
				}
				for k, got := range out {
					i := k % (rows - t0) // the repacked results follow the plain ones
					a := acts.ggml[(t0+i)*nb*34 : (t0+i+1)*nb*34]
					want, abs := exactBlockDot(w, a, c.blockBytes, c.bias, c.value)
					if tol := float64(nb+16) * 0x1p-23 * abs; math.Abs(float64(got)-want) > tol {
						t.Fatalf("%s cols %d row %d of %d: got %g, want %g ± %g (kernels %s)", c.typ, cols, t0+i, rows, got, want, tol, s.Name())
					}
					if k < rows-t0 && acts.stride > 0 { // the pair kernels' Go twin, from the same packed row
						tol := float64(nb+16) * 0x1p-23 * abs
						twin := gemvPairsGo(c.typ, w, acts.packed[(t0+i)*acts.stride:(t0+i+1)*acts.stride], nb/2)
						if nb%2 == 1 {
							twin += s.traits[c.typ].pairs.tail(w[(nb-1)*c.blockBytes:], a[(nb-1)*34:])
						}
						if math.Abs(float64(got-twin)) > tol {
							t.Fatalf("%s cols %d row %d of %d: pair kernel %g, Go twin %g ± %g", c.typ, cols, t0+i, rows, got, twin, tol)
						}
					}
				}
			}
		}
	}
}

// checkQ6KKernelMatchesGo: the set's Q6_K·Q8_K dots (one and four tokens) are bit-identical to the Go
// code on random super-blocks, extreme activations (−128 included, which Q8_K's quantizer can produce)
// and all scales.
func checkQ6KKernelMatchesGo(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(6, 7))
	for trial := range 300 {
		nb := 1 + rng.IntN(17)
		w := make([]byte, nb*210)
		a := make([]byte, nb*292)
		for i := range w {
			w[i] = byte(rng.Uint32())
		}
		for b := range nb {
			binary.LittleEndian.PutUint16(w[b*210+208:], tensor.F32ToF16(float32(rng.NormFloat64()*0.01)))
			ab := a[b*292 : (b+1)*292]
			binary.LittleEndian.PutUint32(ab, math.Float32bits(float32(rng.ExpFloat64()*0.01)))
			for j := range 16 {
				var sum int16
				for l := range 16 {
					v := int8(rng.Uint32())
					if trial%3 == 0 {
						v = []int8{-128, 127}[rng.IntN(2)]
					}
					ab[4+16*j+l] = byte(v)
					sum += int16(v)
				}
				binary.LittleEndian.PutUint16(ab[260+2*j:], uint16(sum))
			}
		}
		got, want := s.DotKQ8_K(tensor.Q6_K, w, a), dotQ6_KQ8_KGo(w, a)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("trial %d (%d super-blocks): kernel %g, Go %g", trial, nb, got, want)
		}
		// Four tokens at once: the first is a, the others random rows of the same length.
		rows := [4][]byte{a, randomQ8K(rng, nb, false), randomQ8K(rng, nb, trial%2 == 0), randomQ8K(rng, nb, false)}
		out := make([]float32, 4)
		if s.DotKQ8_K4(tensor.Q6_K, w, rows, out) {
			for i, r := range rows {
				if want := dotQ6_KQ8_KGo(w, r); math.Float32bits(out[i]) != math.Float32bits(want) {
					t.Fatalf("trial %d token %d (%d super-blocks): four-token kernel %g, Go %g", trial, i, nb, out[i], want)
				}
			}
		} else if s.hasAVX512() {
			t.Fatal("no four-token Q6_K kernel although the CPU has AVX-512")
		}
	}
}

// checkRepackedDots: every repacked type's kernels (one and four tokens, all row offsets) against the
// float64 dot of the dequantized weights and Q8_0 activations. The kernels take the weights' offset (the
// +8/+16/+128 of the unsigned values, or the Q4_1/Q5_1 mins) off in float, so the rounding allowed is
// (blocks+16)·2^-23 of Σ_j (4·max|w| of j's block)·|a_j|.
func checkRepackedDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(14, 15))
	for _, typ := range []tensor.Type{tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0} {
		for _, cols := range []int{128, 512, 4096, 13696} {
			if !s.CanRepack(typ, cols) {
				t.Fatalf("%s rows of %d columns have no repacked form in the %s set", typ, cols, s.Name())
			}
			nb := cols / 32
			rows := 1 + rng.IntN(9)
			x := make([][]float32, rows)
			for i := range x {
				x[i] = make([]float32, cols)
				for j := range x[i] {
					x[i][j] = float32(rng.NormFloat64())
				}
			}
			src := make([]float32, cols)
			for j := range src {
				src[j] = float32(rng.NormFloat64()*0.05 + 0.01*float64(j%7))
			}
			rb64, _ := typ.RowBytes(int64(cols))
			w, wr := make([]byte, rb64), make([]byte, rb64)
			_ = tensor.Quantize(typ, src, w)
			RepackRow(typ, w, wr)
			wf := make([]float32, cols)
			_ = tensor.Dequantize(typ, w, wf)
			acts := s.Q8Acts()
			if err := acts.Set(x, cols, typ, true); err != nil {
				t.Fatal(err)
			}
			for t0 := range rows {
				out := make([]float32, rows-t0)
				acts.DotRepacked(wr, t0, out)
				for i, got := range out {
					want, tol := dequantizedDot(wf, acts.ggml[(t0+i)*nb*34:(t0+i+1)*nb*34])
					if math.Abs(float64(got)-want) > tol {
						t.Fatalf("%s cols %d row %d of %d: got %g, want %g ± %g", typ, cols, t0+i, rows, got, want, tol)
					}
					// The kernel's Go twin, from the same packed row and repacked weights.
					if twin := gemvRepackedGo(typ, wr, acts.packed[(t0+i)*acts.stride:(t0+i+1)*acts.stride], nb/4); math.Abs(float64(got-twin)) > tol {
						t.Fatalf("%s cols %d row %d of %d: kernel %g, Go twin %g ± %g", typ, cols, t0+i, rows, got, twin, tol)
					}
				}
			}
		}
	}
}

// checkQ45FileLayoutDots: Q4_1/Q5_0/Q5_1 rows as stored (the AVX2 kernels, which CPUs without AVX-512 VNNI
// and --mmap use) against the float64 dot of the dequantized rows, at checkRepackedDots's tolerance.
func checkQ45FileLayoutDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(16, 17))
	for _, typ := range []tensor.Type{tensor.Q4_1, tensor.Q5_0, tensor.Q5_1} {
		for _, cols := range []int{32, 96, 4096} {
			nb := cols / 32
			x := [][]float32{make([]float32, cols), make([]float32, cols)}
			for i := range x {
				for j := range x[i] {
					x[i][j] = float32(rng.NormFloat64())
				}
			}
			src := make([]float32, cols)
			for j := range src {
				src[j] = float32(rng.NormFloat64()*0.05 + 0.01*float64(j%7))
			}
			rb64, _ := typ.RowBytes(int64(cols))
			w := make([]byte, rb64)
			_ = tensor.Quantize(typ, src, w)
			wf := make([]float32, cols)
			_ = tensor.Dequantize(typ, w, wf)
			acts := s.Q8Acts()
			if err := acts.Set(x, cols, typ, false); err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(x))
			acts.Dot(w, 0, out)
			for i, got := range out {
				if want, tol := dequantizedDot(wf, acts.ggml[i*nb*34:(i+1)*nb*34]); math.Abs(float64(got)-want) > tol {
					t.Fatalf("%s cols %d row %d: got %g, want %g ± %g", typ, cols, i, got, want, tol)
				}
			}
		}
	}
}

// dequantizedDot is the float64 dot of dequantized weights wf with the Q8_0 activation row act, and the
// tolerance of kernels that take the weights' offset off in float: (blocks+16)·2^-23 of
// Σ_j (4·max|w| of j's block)·|a_j|.
func dequantizedDot(wf []float32, act []byte) (want, tol float64) {
	nb := len(wf) / 32
	af := make([]float32, len(wf))
	_ = tensor.Dequantize(tensor.Q8_0, act, af)
	var abs float64
	for b := range nb {
		var wmax float64
		for j := 32 * b; j < 32*b+32; j++ {
			wmax = max(wmax, math.Abs(float64(wf[j])))
		}
		for j := 32 * b; j < 32*b+32; j++ {
			want += float64(wf[j]) * float64(af[j])
			abs += 4 * wmax * math.Abs(float64(af[j]))
		}
	}
	return want, float64(nb+16) * 0x1p-23 * abs
}

// batchAndRow returns n activation rows of cols normal values and a weight row of type typ quantized
// from values of a real layer's scale (σ 0.05).
func batchAndRow(rng *rand.Rand, typ tensor.Type, n, cols int) ([][]float32, []byte) {
	x := make([][]float32, n)
	for i := range x {
		x[i] = make([]float32, cols)
		for j := range x[i] {
			x[i][j] = float32(rng.NormFloat64())
		}
	}
	src := make([]float32, cols)
	for j := range src {
		src[j] = float32(rng.NormFloat64() * 0.05)
	}
	rb, _ := typ.RowBytes(int64(cols))
	w := make([]byte, rb)
	_ = tensor.Quantize(typ, src, w) // a type with a Q8 dot always quantizes
	return x, w
}

// checkFourTokensExact: where Traits says RowsExact, the four-token kernels give every token the bits
// the one-token kernel gives it (a batch of sequences may then share them); the K-quants' four-token path
// likewise. A failure here means batched decoding would change replies.
func checkFourTokensExact(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(21, 22))
	checked := 0
	for _, typ := range []tensor.Type{tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0} {
		cols := 4096
		if !s.CanRepack(typ, cols) || !s.Traits(typ, cols, true).RowsExact {
			continue
		}
		x, w := batchAndRow(rng, typ, 4, cols)
		wr := make([]byte, len(w))
		RepackRow(typ, w, wr)
		acts := s.Q8Acts()
		if err := acts.Set(x, cols, typ, true); err != nil {
			t.Fatal(err)
		}
		four := make([]float32, 4)
		acts.DotRepacked(wr, 0, four)
		for i := range 4 {
			one := make([]float32, 1)
			acts.DotRepacked(wr, i, one)
			if math.Float32bits(one[0]) != math.Float32bits(four[i]) {
				t.Errorf("%s token %d: four-token kernel %v, one-token %v (kernels %s)", typ, i, four[i], one[0], s.Name())
			}
		}
		checked++
	}
	// Rows as stored (the mapping, or no VNNI): the AVX2 four-token Q4_0/Q8_0 kernel, or one token at a time.
	for _, typ := range []tensor.Type{tensor.Q4_0, tensor.Q4_1, tensor.Q5_0, tensor.Q5_1, tensor.Q8_0} {
		const cols = 4096 + 96 // not a multiple of the VNNI kernels' pairs or groups
		if tr := s.Traits(typ, cols, false); !tr.RowsExact || !tr.Kernel {
			continue
		}
		x, w := batchAndRow(rng, typ, 6, cols)
		acts := s.Q8Acts()
		if err := acts.Set(x, cols, typ, false); err != nil {
			t.Fatal(err)
		}
		all := make([]float32, len(x))
		acts.Dot(w, 0, all)
		for i := range x {
			one := make([]float32, 1)
			acts.Dot(w, i, one)
			if math.Float32bits(one[0]) != math.Float32bits(all[i]) {
				t.Errorf("%s rows as stored, token %d: in a batch %v, alone %v (kernels %s)", typ, i, all[i], one[0], s.Name())
			}
		}
		checked++
	}
	for _, typ := range []tensor.Type{tensor.Q4_K, tensor.Q5_K, tensor.Q6_K} {
		if !s.Traits(typ, tensor.QK_K*4, false).RowsExact {
			t.Errorf("%s: the K-quants' four-token path must be exact", typ)
		}
		rb, _ := typ.RowBytes(tensor.QK_K * 4)
		src := make([]float32, tensor.QK_K*4)
		for j := range src {
			src[j] = float32(rng.NormFloat64())
		}
		w := make([]byte, rb)
		_ = tensor.Quantize(typ, src, w)
		var a [4][]byte
		for i := range a {
			xs := make([]float32, tensor.QK_K*4)
			for j := range xs {
				xs[j] = float32(rng.NormFloat64())
			}
			ab, _ := tensor.Q8_K.RowBytes(tensor.QK_K * 4)
			a[i] = make([]byte, ab)
			_ = tensor.Quantize(tensor.Q8_K, xs, a[i])
		}
		four := make([]float32, 4)
		if s.DotKQ8_K4(typ, w, a, four) {
			for i := range 4 {
				if one := s.DotKQ8_K(typ, w, a[i]); math.Float32bits(one) != math.Float32bits(four[i]) {
					t.Errorf("%s token %d: four-token %v, one-token %v", typ, i, four[i], one)
				}
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatalf("the %s set has no kernel that Traits calls exact for four tokens", s.Name())
	}
}
