package kernels

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// Float dot products: weight rows stored as F32, F16 or BF16 against float32 activations (as ggml's
// vec_dot_f16 with the activations kept in float32), and the float32 dot and axpy of attention. With
// AVX-512, or AVX2 with FMA, they run in assembly; the Go code sums in four lanes. Both round differently from a
// float64 sum by at most a few ulps of Σ|terms| (tests check that bound).

// floatSet is one instruction set's float kernels, indexed by floatIndex.
type floatSet struct {
	dot1 [3]func(w *byte, x *float32, n int) float32
	dot4 [3]func(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
	axpy func(y *float32, a float32, x *float32, n int)
}

// floatIndex maps F32, F16, BF16 to 0, 1, 2 (-1: not a float type).
func floatIndex(t tensor.Type) int {
	switch t {
	case tensor.F32:
		return 0
	case tensor.F16:
		return 1
	case tensor.BF16:
		return 2
	}
	return -1
}

var (
	avx512Floats = floatSet{
		dot1: [3]func(*byte, *float32, int) float32{dot1F32AVX512, dot1F16AVX512, dot1BF16AVX512},
		dot4: [3]func(*byte, *float32, *float32, *float32, *float32, int, *float32){dot4F32AVX512, dot4F16AVX512, dot4BF16AVX512},
		axpy: axpyAVX512,
	}
	avx2Floats = floatSet{
		dot1: [3]func(*byte, *float32, int) float32{dot1F32AVX2, dot1F16AVX2, dot1BF16AVX2},
		dot4: [3]func(*byte, *float32, *float32, *float32, *float32, int, *float32){dot4F32AVX2, dot4F16AVX2, dot4BF16AVX2},
		axpy: axpyAVX2,
	}
)

// DotFloatRows sets out[i] = w·x[i] for a row w of len(x[0]) values of type t (F32, F16 or BF16), four
// tokens per pass over the row. It returns false, doing nothing, when the set has no kernel for t (the
// caller decodes the row and uses DotF32).
func (s *Set) DotFloatRows(t tensor.Type, w []byte, x [][]float32, out []float32) bool {
	return s.floats.dotRows(t, w, x, out)
}

func (k *floatSet) dotRows(t tensor.Type, w []byte, x [][]float32, out []float32) bool {
	if k == nil || len(x) == 0 {
		return false
	}
	fi := floatIndex(t)
	n := len(x[0])
	body := n &^ 15
	if fi < 0 || body == 0 {
		return false
	}
	dot1, dot4 := k.dot1[fi], k.dot4[fi]
	size := 2
	if t == tensor.F32 {
		size = 4
	}
	i := 0
	for ; i+4 <= len(x); i += 4 {
		dot4(&w[0], &x[i][0], &x[i+1][0], &x[i+2][0], &x[i+3][0], body, &out[i])
	}
	for ; i < len(x); i++ {
		out[i] = dot1(&w[0], &x[i][0], body)
	}
	if body < n {
		for i := range x {
			for j := body; j < n; j++ {
				out[i] += floatAt(t, w[size*j:]) * x[i][j]
			}
		}
	}
	return true
}

// HasFloatTile reports whether DotFloatTile has a kernel in this set.
func (s *Set) HasFloatTile() bool { return s.FloatTileRows() > 0 }

// FloatTileRows is the rows of DotFloatTile's register tile: four with AVX-512's 32 registers, three
// with AVX2's 16 (twelve accumulators, three weight vectors and one activation vector); 0 without one.
func (s *Set) FloatTileRows() int {
	switch {
	case s.hasAVX512():
		return 4
	case s.hasAVX2():
		return 3
	}
	return 0
}

// DotFloatTile sets out[4·r+t] = row r · x[t] for the FloatTileRows rows of type t (F32, F16 or BF16)
// that start rowBytes apart in w and exactly four activation rows of cols values: a register tile that
// reads each activation vector once for all its rows. It returns false, doing nothing, without a kernel.
func (s *Set) DotFloatTile(t tensor.Type, w []byte, rowBytes int, x [][]float32, out *[16]float32) bool {
	rows := s.FloatTileRows()
	if rows == 0 || len(x) != 4 {
		return false
	}
	n := len(x[0])
	body := n &^ 15
	if body == 0 {
		return false
	}
	size := 2
	var f16, bf16, f32 func(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
	if rows == 4 {
		f16, bf16, f32 = dot44F16AVX512, dot44BF16AVX512, dot44F32AVX512
	} else {
		f16, bf16, f32 = dot34F16AVX2, dot34BF16AVX2, dot34F32AVX2
	}
	switch t {
	case tensor.F16:
		f16(&w[0], rowBytes, &x[0][0], &x[1][0], &x[2][0], &x[3][0], body, &out[0])
	case tensor.BF16:
		bf16(&w[0], rowBytes, &x[0][0], &x[1][0], &x[2][0], &x[3][0], body, &out[0])
	case tensor.F32:
		size = 4
		f32(&w[0], rowBytes, &x[0][0], &x[1][0], &x[2][0], &x[3][0], body, &out[0])
	default:
		return false
	}
	for r := range rows {
		row := w[r*rowBytes:]
		for i := range 4 {
			for j := body; j < n; j++ {
				out[4*r+i] += floatAt(t, row[size*j:]) * x[i][j]
			}
		}
	}
	return true
}

func floatAt(t tensor.Type, b []byte) float32 {
	switch t {
	case tensor.F16:
		return tensor.HalfAt(b)
	case tensor.BF16:
		return tensor.BF16ToF32(binary.LittleEndian.Uint16(b))
	}
	return math.Float32frombits(binary.LittleEndian.Uint32(b))
}

// DotF32 is Σ a[i]·b[i] over len(a) values.
func (s *Set) DotF32(a, b []float32) float32 { return s.floats.dotF32(a, b) }

func (k *floatSet) dotF32(a, b []float32) float32 {
	n := len(a)
	body := 0
	var s float32
	if k != nil && n >= 16 {
		body = n &^ 15
		s = k.dot1[0]((*byte)(unsafe.Pointer(&a[0])), &b[0], body)
	}
	return s + dotF32Go(a[body:], b[body:len(a)])
}

func dotF32Go(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy sets y[i] += alpha·x[i] for i < len(y).
func (s *Set) Axpy(alpha float32, x, y []float32) { s.floats.axpyF32(alpha, x, y) }

func (k *floatSet) axpyF32(alpha float32, x, y []float32) {
	n := len(y)
	body := 0
	if k != nil && n >= 16 {
		body = n &^ 15
		k.axpy(&y[0], alpha, &x[0], body)
	}
	for i := body; i < n; i++ {
		y[i] += alpha * x[i]
	}
}

// AttnValuesF16 is attention's weighted sum of F16 value rows for heads query heads that share a KV
// head: out[e·hd+j] = Σ_{k<nk} scores[e·sstride+k] · value_k[j], value k's hd halves at vals[k·vstride:].
// In the AVX2 and AVX-512 sets, with a multiple of four heads and hd a multiple of 16, it runs in
// assembly, four heads a pass over blocks of keys that stay in L1 (with AVX-512 and hd a multiple of 32
// in 512-bit registers), which sums in a different order from the Go code (tests bound the difference).
func (s *Set) AttnValuesF16(scores []float32, sstride int, vals []uint16, vstride, nk, hd, heads int, out []float32) {
	if nk <= 0 {
		clear(out[:heads*hd])
		return
	}
	_ = scores[(heads-1)*sstride+nk-1]
	_ = vals[(nk-1)*vstride+hd-1]
	_ = out[heads*hd-1]
	if s.hasAVX2() && heads%4 == 0 && hd%16 == 0 {
		// Blocks of keys whose value rows (2·hd bytes each) fit in L1 beside the outputs, so that the
		// chunks of the kernel reread them from there rather than from memory.
		block := max(1, (16<<10)/(2*hd))
		for k0 := 0; k0 < nk; k0 += block {
			n := min(block, nk-k0)
			kernel := attnValues4F16AVX2
			if s.hasAVX512() && hd%32 == 0 {
				kernel = attnValues4F16AVX512
			}
			for e := 0; e < heads; e += 4 { // four heads a pass over the block, from L1 after the first
				kernel(&scores[e*sstride+k0], sstride, (*byte)(unsafe.Pointer(&vals[k0*vstride])), 2*vstride, n, hd, &out[e*hd], min(k0, 1))
			}
		}
		return
	}
	clear(out[:heads*hd])
	attnValues4F16Go(scores, sstride, vals, vstride, nk, hd, heads, out)
}

// attnValues4F16Go adds the weighted values to out.
func attnValues4F16Go(scores []float32, sstride int, vals []uint16, vstride, nk, hd, heads int, out []float32) {
	for e := range heads {
		o := out[e*hd : (e+1)*hd]
		for k := range nk {
			s, row := scores[e*sstride+k], vals[k*vstride:k*vstride+hd]
			for j, v := range row {
				o[j] += s * tensor.F16ToF32(v)
			}
		}
	}
}

// dot1FloatGo, dot4FloatGo and dot44FloatGo are the float kernels' Go twins: n values of a row of type t
// (F32, F16 or BF16) against one, four, or four rows (wstride bytes apart) × four activation rows, each
// through dotRowGo.
func dot1FloatGo(t tensor.Type, w *byte, x *float32, n int) float32 {
	return dotRowGo(t, unsafe.Slice(w, floatSize(t)*n), unsafe.Slice(x, n))
}

func dot4FloatGo(t tensor.Type, w *byte, x [4]*float32, n int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, xi := range x {
		res[i] = dot1FloatGo(t, w, xi, n)
	}
}

func dot44FloatGo(t tensor.Type, w *byte, wstride int, x [4]*float32, n int, out *float32) {
	dotTileGo(t, 4, w, wstride, x, n, out)
}

// dot34FloatGo is the three-row tile of the AVX2 set.
func dot34FloatGo(t tensor.Type, w *byte, wstride int, x [4]*float32, n int, out *float32) {
	dotTileGo(t, 3, w, wstride, x, n, out)
}

func dotTileGo(t tensor.Type, rows int, w *byte, wstride int, x [4]*float32, n int, out *float32) {
	res := unsafe.Slice(out, 4*rows)
	for r := range rows {
		dot4FloatGo(t, (*byte)(unsafe.Add(unsafe.Pointer(w), r*wstride)), x, n, &res[4*r])
	}
}

// dotRowGo is Σ w[i]·x[i] in the four lanes of dotF32Go.
func dotRowGo(t tensor.Type, w []byte, x []float32) float32 {
	size := floatSize(t)
	var s [4]float32
	for i, v := range x {
		s[i%4] += floatAt(t, w[size*i:]) * v
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

func floatSize(t tensor.Type) int {
	if t == tensor.F32 {
		return 4
	}
	return 2
}
