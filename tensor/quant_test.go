package tensor

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestChatGLMCppVectors reproduces chatglm.cpp's test_quantize_* vectors byte for byte.
func TestChatGLMCppVectors(t *testing.T) {
	raw, err := os.ReadFile(testenv.Path(t, "quant", "quant_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Shape    []int             `json:"shape"`
		Weight   []float32         `json:"weight"`
		Expected map[string][]int8 `json:"expected_bytes_int8"`
		Block    map[string]int    `json:"block_bytes"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Expected) == 0 {
		t.Fatal("no vectors")
	}
	for name, want := range v.Expected {
		typ, err := ParseType(name)
		if err != nil {
			t.Fatal(err)
		}
		rows, cols := v.Shape[0], v.Shape[1]
		rowBytes, _ := typ.RowBytes(int64(cols))
		got := make([]byte, int64(rows)*rowBytes)
		for r := range rows {
			if err := Quantize(typ, v.Weight[r*cols:(r+1)*cols], got[int64(r)*rowBytes:int64(r+1)*rowBytes]); err != nil {
				t.Fatal(err)
			}
		}
		wantBytes := make([]byte, len(want))
		for i, b := range want {
			wantBytes[i] = byte(b)
		}
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("%s: bytes differ from chatglm.cpp's", name)
		}
	}
}

// gguf fixtures are read here with a minimal local header walk instead of package gguf, which imports
// tensor (an import cycle); package quantize repeats this check end to end through the real reader.

// TestRequantizeFixtures quantizes each tensor of the llama.cpp source fixtures to the type llama-quantize
// chose and compares with llama-quantize's bytes, for every quantized tensor of every fixture.
func TestRequantizeFixtures(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "requant.json"))
	files := []struct{ quantized, source string }{
		{"chatglm3-tiny-Q4_0.gguf", "chatglm3-tiny-f32.gguf"}, {"chatglm3-tiny-Q4_1.gguf", "chatglm3-tiny-f32.gguf"},
		{"chatglm3-tiny-Q5_0.gguf", "chatglm3-tiny-f32.gguf"}, {"chatglm3-tiny-Q5_1.gguf", "chatglm3-tiny-f32.gguf"},
		{"chatglm3-tiny-Q8_0.gguf", "chatglm3-tiny-f32.gguf"}, {"chatglm3-tiny-Q4_K_M.gguf", "chatglm3-tiny-f32.gguf"},
		{"chatglm3-tiny-Q6_K.gguf", "chatglm3-tiny-f32.gguf"}, {"chatglm3-tiny-f16.gguf", "chatglm3-tiny-f32.gguf"},
		{"glm4-tiny-bpe-Q8_0.gguf", "glm4-tiny-bpe-f16.gguf"},
	}
	for _, f := range files {
		t.Run(f.quantized, func(t *testing.T) {
			q := readTensors(t, filepath.Join(dir, f.quantized))
			src := readTensors(t, filepath.Join(dir, f.source))
			checked := 0
			for name, qt := range q {
				st := src[name]
				if qt.typ == F32 {
					continue
				}
				vals := make([]float32, st.shape[0]*st.shape[1])
				if err := Dequantize(st.typ, st.data, vals); err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(qt.data))
				if err := Quantize(qt.typ, vals, got); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, qt.data) {
					t.Errorf("%s (%s): bytes differ from llama-quantize's", name, qt.typ)
				}
				checked++
			}
			if checked == 0 {
				t.Fatal("no quantized tensor checked")
			}
		})
	}
}

type rawTensor struct {
	typ   Type
	shape []int64
	data  []byte
}

// readTensors walks a trusted fixture's GGUF header just far enough to find its tensors.
func readTensors(t *testing.T, path string) map[string]rawTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 8
	le := func(n int) uint64 {
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[off+i])
		}
		off += n
		return v
	}
	nt, nkv := le(8), le(8)
	str := func() string { n := int(le(8)); s := string(b[off : off+n]); off += n; return s }
	var skip func(typ uint64)
	skip = func(typ uint64) {
		sizes := map[uint64]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
		switch typ {
		case 8:
			str()
		case 9:
			et, n := le(4), le(8)
			for range n {
				skip(et)
			}
		default:
			off += sizes[typ]
		}
	}
	for range nkv {
		str()
		skip(le(4))
	}
	type info struct {
		name  string
		typ   Type
		shape []int64
		off   uint64
	}
	var infos []info
	for range nt {
		in := info{name: str()}
		nd := le(4)
		for range nd {
			in.shape = append(in.shape, int64(le(8)))
		}
		for len(in.shape) < 2 {
			in.shape = append(in.shape, 1)
		}
		in.typ = Type(le(4))
		in.off = le(8)
		infos = append(infos, in)
	}
	data := (off + 31) / 32 * 32
	out := map[string]rawTensor{}
	for _, in := range infos {
		n, err := in.typ.Bytes(Shape(in.shape))
		if err != nil {
			t.Fatal(err)
		}
		start := data + int(in.off)
		out[in.name] = rawTensor{typ: in.typ, shape: in.shape, data: b[start : start+int(n)]}
	}
	return out
}

// TestRoundTripError bounds max |dequantize(quantize(x)) - x| relative to each block's absolute maximum, on
// Gaussian data with outliers, against limits derived from each format's step size.
func TestRoundTripError(t *testing.T) {
	cases := []struct {
		typ   Type
		bound float64 // max error / block absmax
		rmse  float64 // rmse / data std
	}{
		// Max error: half a step, where the step is absmax/levels, plus the fp16 rounding of the stored scale;
		// Q4_0/Q5_0 lose a whole step at the end of the range opposite the signed maximum (level 8 or 16
		// clamps to 7 or 15). RMSE bounds are absolute on data of std ≈ 1.3.
		{F32, 0, 0}, {F16, 1e-3, 1e-3}, {BF16, 8e-3, 8e-3},
		{Q8_0, 0.57 / 127, 0.015}, {Q4_0, 0.13, 0.2}, {Q4_1, 0.07, 0.14},
		{Q5_0, 0.065, 0.1}, {Q5_1, 0.034, 0.07}, {Q8_K, 0.57 / 127, 0.03},
		{Q4_K, 0.15, 0.14}, {Q5_K, 0.08, 0.07}, {Q6_K, 0.04, 0.04},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 256 * 64
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if rng.IntN(100) == 0 {
			x[i] *= 8
		}
	}
	for _, c := range cases {
		rb, _ := c.typ.RowBytes(n)
		q := make([]byte, rb)
		y := make([]float32, n)
		if err := Quantize(c.typ, x, q); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(c.typ, q, y); err != nil {
			t.Fatal(err)
		}
		bs := max(c.typ.BlockSize(), 32)
		var worst, sq float64
		for b := 0; b < n; b += bs {
			var amax float64
			for _, v := range x[b : b+bs] {
				amax = math.Max(amax, math.Abs(float64(v)))
			}
			for i := b; i < b+bs; i++ {
				e := math.Abs(float64(y[i]) - float64(x[i]))
				sq += e * e
				worst = math.Max(worst, e/amax)
			}
		}
		rmse := math.Sqrt(sq / n)
		if worst > c.bound || rmse > c.rmse {
			t.Errorf("%s: max error %.4g of block absmax (bound %.4g), rmse %.4g (bound %.4g)", c.typ, worst, c.bound, rmse, c.rmse)
		}
		if c.typ == F32 && (worst != 0 || rmse != 0) {
			t.Errorf("F32 must round-trip exactly")
		}
	}
}

func TestQuantizeSizeErrors(t *testing.T) {
	cases := []struct {
		typ  Type
		n    int
		dst  int
		want string
	}{
		{Q4_0, 33, 18, "Q4_0: row of 33 elements is not a multiple of the block size 32"},
		{Q4_0, 32, 17, "quantize 32 values to Q4_0: destination holds 17 bytes, want 18"},
		{Q2_K, 256, 84, "quantize to Q2_K is not supported"},
	}
	for _, c := range cases {
		err := Quantize(c.typ, make([]float32, c.n), make([]byte, c.dst))
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.typ, err, c.want)
		}
	}
	if err := Dequantize(Q8_0, make([]byte, 33), make([]float32, 32)); err == nil || err.Error() != "dequantize 32 values of Q8_0: source holds 33 bytes, want 34" {
		t.Errorf("Dequantize: %v", err)
	}
}

// TestAllZeroAndConstantBlocks covers the d == 0 branches (all-zero and constant inputs).
func TestAllZeroAndConstantBlocks(t *testing.T) {
	for _, typ := range []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, Q8_K} {
		for _, c := range []float32{0, 0.75, -3} {
			x := make([]float32, 256)
			for i := range x {
				x[i] = c
			}
			rb, _ := typ.RowBytes(256)
			q := make([]byte, rb)
			y := make([]float32, 256)
			if err := Quantize(typ, x, q); err != nil {
				t.Fatal(err)
			}
			_ = Dequantize(typ, q, y)
			for i := range y {
				if math.Abs(float64(y[i]-c)) > 0.02*math.Abs(float64(c))+1e-6 {
					t.Fatalf("%s constant %g: element %d decodes to %g", typ, c, i, y[i])
				}
			}
		}
	}
}
