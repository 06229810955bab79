package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// Q8Acts holds activation rows quantized to Q8_0 once per matrix product, as ggml's CPU backend quantizes
// src1 once per mul_mat, in two forms: ggml's block layout, which the Go and AVX2 block dots read, and the
// packed layout of the VNNI kernels. Its buffers are reused from one product to the next.
//
// The weights enter the VNNI kernels as unsigned bytes (Q4_0 nibbles hold the weight + 8, Q8_0 values
// enter + 128; see actBias); the bias times the activations is taken off again. Packed layout for rows as stored, per row
// and per pair of blocks (192 bytes, so every part is 64-byte aligned when the row is): the 64 int8
// values, 16 int32 corrections −bias·Σ of each four values, and the two block scales as float32, each
// repeated over its block's eight lanes. Layout for repacked rows (repack.go), per group of four blocks
// (160 bytes): the 128 values, the four scales da, and the four corrections −bias·da·Σ(block).
type Q8Acts struct {
	set        *Set
	k          *typeKernels // the weight type's kernels in set, chosen by Reset
	cols, rows int
	weight     tensor.Type
	repacked   bool
	ggml       []byte
	scales     []float32 // the ggml layout's block scales as float32, row by row (AVX2 four-token kernel)
	packed     []byte    // 64-byte aligned view of packedBuf
	packedBuf  []byte
	stride     int // packed bytes per row
	// For rows packed in panels (panels.go): per block, the tabTokens rows' da, then their corrections.
	panels    bool
	tabTokens int
	tab       []float32
}

// Q8Acts returns an empty set of activation rows for this set's kernels.
func (s *Set) Q8Acts() *Q8Acts { return &Q8Acts{set: s} }

const (
	pairBytes  = 192
	groupBytes = 160
)

// actBias is what the kernels' unsigned weights exceed the real ones by: Q4_0 nibbles hold w+8, Q5_0
// values w+16, Q8_0 enters as w+128. For Q4_1 and Q5_1 the term is the block min instead: −1 makes the
// stored correction +da·Σa, which the kernel multiplies by the min.
var actBias = map[tensor.Type]int32{tensor.Q4_0: 8, tensor.Q8_0: 128, tensor.Q5_0: 16, tensor.Q4_1: -1, tensor.Q5_1: -1}

// Set quantizes the rows of x (each cols long, a multiple of 32) for products with weights of type w:
// Q4_0 or Q8_0 rows as stored in the file, or (repacked) rows of Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0 that
// RepackRow rearranged.
func (a *Q8Acts) Set(x [][]float32, cols int, w tensor.Type, repacked bool) error {
	if err := a.Reset(len(x), cols, w, repacked); err != nil {
		return err
	}
	for t, row := range x {
		a.QuantizeRow(t, row)
	}
	return nil
}

// Reset sizes the buffers for rows activation rows, as Set would, without quantizing anything; then
// QuantizeRow fills each row, from any number of goroutines at once (each row on its own).
func (a *Q8Acts) Reset(rows, cols int, w tensor.Type, repacked bool) error {
	if cols%32 != 0 {
		return fmt.Errorf("Q8_0 activations: %d columns is not a multiple of 32", cols)
	}
	if tr := a.set.Traits(w, cols, repacked); !tr.Kernel || tr.VecDotType != tensor.Q8_0 {
		if repacked {
			return fmt.Errorf("Q8_0 activations: %s rows of %d columns have no repacked form in the %s kernels", w, cols, a.set.Name())
		}
		return fmt.Errorf("Q8_0 activations: weight type %s has no Q8_0 block dot in the %s kernels", w, a.set.Name())
	}
	nb := cols / 32
	a.cols, a.rows, a.weight, a.repacked = cols, rows, w, repacked
	a.k = &a.set.traits[w]
	a.panels = false
	a.ggml = grow(a.ggml, nb*34*rows)
	a.scales = a.scales[:0]
	a.stride = 0
	if nb < 2 || (!repacked && a.k.pairs == nil) { // ggml-layout rows only
		if a.avx2Tile() { // ggml-layout rows: the AVX2 four-token kernel reads float scales
			if cap(a.scales) < nb*rows {
				a.scales = make([]float32, nb*rows)
			}
			a.scales = a.scales[:nb*rows]
		}
		return nil
	}
	a.stride = nb / 2 * pairBytes
	if repacked {
		a.stride = nb / 4 * groupBytes
	}
	if need := a.stride*rows + 64; cap(a.packedBuf) < need {
		a.packedBuf = make([]byte, need)
	}
	buf := a.packedBuf[:cap(a.packedBuf)]
	off := 0
	if r := int(addrMod64(buf)); r != 0 {
		off = 64 - r
	}
	a.packed = buf[off : off+a.stride*rows]
	return nil
}

// QuantizeRow quantizes activation row t (x, cols values) into both layouts.
func (a *Q8Acts) QuantizeRow(t int, x []float32) {
	nb := a.cols / 32
	rb := nb * 34
	src := a.ggml[t*rb : (t+1)*rb]
	tensor.QuantizeQ8_0(x[:a.cols], src)
	if a.panels {
		a.fillPanelRow(t, src)
		return
	}
	if a.stride == 0 {
		if len(a.scales) > 0 { // the AVX2 four-token kernel's float scales
			sc := a.scales[t*nb : (t+1)*nb]
			for b := range sc {
				sc[b] = tensor.HalfAt(src[b*34:])
			}
		}
		return
	}
	bias := actBias[a.weight]
	dst := a.packed[t*a.stride : (t+1)*a.stride]
	if a.repacked {
		packGroups(src, dst, bias)
		return
	}
	for p := range nb / 2 {
		pk := dst[p*pairBytes : (p+1)*pairBytes]
		for h := range 2 {
			blk := src[(2*p+h)*34 : (2*p+h+1)*34]
			copy(pk[32*h:32*h+32], blk[2:])
			d := math.Float32bits(tensor.HalfAt(blk))
			for k := range 8 {
				q := blk[2+4*k : 6+4*k]
				s := int32(int8(q[0])) + int32(int8(q[1])) + int32(int8(q[2])) + int32(int8(q[3]))
				binary.LittleEndian.PutUint32(pk[64+32*h+4*k:], uint32(-bias*s))
				binary.LittleEndian.PutUint32(pk[128+32*h+4*k:], d)
			}
		}
	}
}

// RowBytes is the size of one activation row in the layout the kernels read.
func (a *Q8Acts) RowBytes() int {
	if a.stride > 0 {
		return a.stride
	}
	return a.cols / 32 * 34
}

// packGroups fills one row of the layout of repacked rows from its ggml blocks.
func packGroups(src, dst []byte, bias int32) {
	for g := range len(src) / 34 / 4 {
		pk := dst[g*groupBytes : (g+1)*groupBytes]
		for i := range 4 {
			blk := src[(4*g+i)*34 : (4*g+i+1)*34]
			copy(pk[32*i:32*i+32], blk[2:])
			var s int32
			for _, q := range blk[2:] {
				s += int32(int8(q))
			}
			d := tensor.HalfAt(blk)
			binary.LittleEndian.PutUint32(pk[128+4*i:], math.Float32bits(d))
			binary.LittleEndian.PutUint32(pk[144+4*i:], math.Float32bits(float32(-bias*s)*d))
		}
	}
}

// avx2Tile reports whether Dot runs the AVX2 four-token kernel (ggml-layout rows of Q4_0, Q8_0 or Q5_0), which
// reads the activation scales as float32.
func (a *Q8Acts) avx2Tile() bool { return !a.repacked && a.k.dot4Scaled != nil }

// Dot sets out[i] to the dot product of the weight row w (of the type given to Set) with activation row
// t0+i. Four rows at a time share one pass over the weights.
func (a *Q8Acts) Dot(w []byte, t0 int, out []float32) {
	nb := a.cols / 32
	rb := nb * 34
	if a.stride == 0 {
		i0 := 0
		if a.avx2Tile() {
			for ; i0+4 <= len(out); i0 += 4 {
				r, s := a.ggml[(t0+i0)*rb:], a.scales[(t0+i0)*nb:]
				a.k.dot4Scaled(&w[0], &r[0], &r[rb], &r[2*rb], &r[3*rb], &s[0], &s[nb], &s[2*nb], &s[3*nb], nb, &out[i0])
			}
		}
		for i := i0; i < len(out); i++ {
			out[i] = a.k.dot(w, a.ggml[(t0+i)*rb:(t0+i+1)*rb])
		}
		return
	}
	pk := a.k.pairs
	pairs := nb / 2
	i := 0
	for ; i+4 <= len(out); i += 4 {
		pk.gemv4(&w[0], &a.packed[(t0+i)*a.stride], pairs, a.stride, &out[i])
	}
	for ; i < len(out); i++ {
		out[i] = pk.gemv1(&w[0], &a.packed[(t0+i)*a.stride], pairs)
	}
	if nb%2 == 1 { // the last block, which the pair kernels leave out
		for i := range out {
			act := a.ggml[(t0+i+1)*rb-34 : (t0+i+1)*rb]
			out[i] += pk.tail(w[(nb-1)*pk.block:nb*pk.block], act)
		}
	}
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// addrMod64 is b's address modulo 64, for aligning the packed rows to cache lines.
func addrMod64(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) & 63 }
