package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
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
	cols, rows int
	weight     Type
	repacked   bool
	ggml       []byte
	scales     []float32 // the ggml layout's block scales as float32, row by row (AVX2 four-token kernel)
	packed     []byte    // 64-byte aligned view of packedBuf
	packedBuf  []byte
	stride     int            // packed bytes per row
	kernel     repackedKernel // for repacked rows: the weight type's kernels, chosen by Reset
}

const (
	pairBytes  = 192
	groupBytes = 160
)

// actBias is what the kernels' unsigned weights exceed the real ones by: Q4_0 nibbles hold w+8, Q5_0
// values w+16, Q8_0 enters as w+128. For Q4_1 and Q5_1 the term is the block min instead: −1 makes the
// stored correction +da·Σa, which the kernel multiplies by the min.
var actBias = map[Type]int32{Q4_0: 8, Q8_0: 128, Q5_0: 16, Q4_1: -1, Q5_1: -1}

// Set quantizes the rows of x (each cols long, a multiple of 32) for products with weights of type w:
// Q4_0 or Q8_0 rows as stored in the file, or (repacked) rows of Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0 that
// RepackRow rearranged.
func (a *Q8Acts) Set(x [][]float32, cols int, w Type, repacked bool) error {
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
func (a *Q8Acts) Reset(rows, cols int, w Type, repacked bool) error {
	if !HasQ8Dot(w, repacked) {
		return fmt.Errorf("Q8_0 activations: weight type %s has no Q8_0 block dot here", w)
	}
	if cols%32 != 0 {
		return fmt.Errorf("Q8_0 activations: %d columns is not a multiple of 32", cols)
	}
	if repacked && !CanRepack(w, cols) {
		return fmt.Errorf("Q8_0 activations: %s rows of %d columns have no repacked form here", w, cols)
	}
	nb := cols / 32
	a.cols, a.rows, a.weight, a.repacked = cols, rows, w, repacked
	a.kernel = repackedKernels[w]
	a.ggml = grow(a.ggml, nb*34*rows)
	a.scales = a.scales[:0]
	a.stride = 0
	if !hasVNNI || nb < 2 || (!repacked && w != Q4_0 && w != Q8_0) {
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
	quantizeQ8_0(x[:a.cols], src)
	if a.stride == 0 {
		if len(a.scales) > 0 { // the AVX2 four-token kernel's float scales
			sc := a.scales[t*nb : (t+1)*nb]
			for b := range sc {
				sc[b] = half(src[b*34:])
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
			d := math.Float32bits(half(blk))
			for k := range 8 {
				q := blk[2+4*k : 6+4*k]
				s := int32(int8(q[0])) + int32(int8(q[1])) + int32(int8(q[2])) + int32(int8(q[3]))
				binary.LittleEndian.PutUint32(pk[64+32*h+4*k:], uint32(-bias*s))
				binary.LittleEndian.PutUint32(pk[128+32*h+4*k:], d)
			}
		}
	}
}

// HasQ8Dot reports whether rows of type t (repacked by RepackRow or as stored) have a dot product with
// Q8_0 activations here: Q4_0 and Q8_0 always (Go twins), Q4_1/Q5_0/Q5_1 with AVX2 or when repacked.
func HasQ8Dot(t Type, repacked bool) bool {
	switch t {
	case Q4_0, Q8_0:
		return true
	case Q4_1, Q5_0, Q5_1:
		return repacked || hasAVX2
	}
	return false
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
			d := half(blk)
			binary.LittleEndian.PutUint32(pk[128+4*i:], math.Float32bits(d))
			binary.LittleEndian.PutUint32(pk[144+4*i:], math.Float32bits(float32(-bias*s)*d))
		}
	}
}

// avx2Tile reports whether Dot runs the AVX2 four-token kernel (ggml-layout rows of Q4_0 or Q8_0), which
// reads the activation scales as float32.
func (a *Q8Acts) avx2Tile() bool {
	return hasAVX2 && !a.repacked && (a.weight == Q4_0 || a.weight == Q8_0)
}

// Dot sets out[i] to the dot product of the weight row w (of the type given to Set) with activation row
// t0+i. Four rows at a time share one pass over the weights.
func (a *Q8Acts) Dot(w []byte, t0 int, out []float32) {
	nb := a.cols / 32
	rb := nb * 34
	if a.stride == 0 {
		i0 := 0
		if a.avx2Tile() {
			gemv4 := gemv4Q4_0AVX2
			if a.weight == Q8_0 {
				gemv4 = gemv4Q8_0AVX2
			}
			for ; i0+4 <= len(out); i0 += 4 {
				r, s := a.ggml[(t0+i0)*rb:], a.scales[(t0+i0)*nb:]
				gemv4(&w[0], &r[0], &r[rb], &r[2*rb], &r[3*rb], &s[0], &s[nb], &s[2*nb], &s[3*nb], nb, &out[i0])
			}
		}
		for i := i0; i < len(out); i++ {
			act := a.ggml[(t0+i)*rb : (t0+i+1)*rb]
			switch a.weight {
			case Q4_0:
				out[i] = DotQ4_0Q8_0(w, act)
			case Q8_0:
				out[i] = DotQ8_0Q8_0(w, act)
			case Q4_1:
				out[i] = dotQ4_1Q8_0AVX2(&w[0], &act[0], nb)
			case Q5_0:
				out[i] = dotQ5_0Q8_0AVX2(&w[0], &act[0], nb)
			case Q5_1:
				out[i] = dotQ5_1Q8_0AVX2(&w[0], &act[0], nb)
			}
		}
		return
	}
	pairs := nb / 2
	i := 0
	for ; i+4 <= len(out); i += 4 {
		p := &a.packed[(t0+i)*a.stride]
		if a.weight == Q4_0 {
			gemv4Q4_0VNNI(&w[0], p, pairs, a.stride, &out[i])
		} else {
			gemv4Q8_0VNNI(&w[0], p, pairs, a.stride, &out[i])
		}
	}
	for ; i < len(out); i++ {
		p := &a.packed[(t0+i)*a.stride]
		if a.weight == Q4_0 {
			out[i] = gemv1Q4_0VNNI(&w[0], p, pairs)
		} else {
			out[i] = gemv1Q8_0VNNI(&w[0], p, pairs)
		}
	}
	if nb%2 == 1 { // the last block, which the pair kernels leave out
		for i := range out {
			act := a.ggml[(t0+i+1)*rb-34 : (t0+i+1)*rb]
			if a.weight == Q4_0 {
				out[i] += dotQ4_0Q8_0Go(w[(nb-1)*18:nb*18], act)
			} else {
				out[i] += dotQ8_0Q8_0Go(w[(nb-1)*34:nb*34], act)
			}
		}
	}
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// FourTokensExact reports whether the four-token kernels for rows of type t (repacked or as stored) give
// each token exactly the bits the one-token kernel gives it, on this CPU with this kernel set. Where they
// do, a batch of independent sequences can share them (several rows per pass over a weight) without
// changing any sequence's result. True for the repacked AVX-512 VNNI kernels (one accumulator per token
// in both), for rows as stored without VNNI (the AVX2 four-token Q4_0/Q8_0 kernel adds each token's lanes
// as the one-token kernel does, multiply then add; Q4_1/Q5_x have no four-token kernel there) and for the
// K-quants (their four-token kernels are bit-identical, or there are none).
func FourTokensExact(t Type, repacked bool) bool {
	switch t {
	case Q4_K, Q5_K, Q6_K:
		return true
	case Q4_0, Q8_0, Q4_1, Q5_0, Q5_1:
		return repacked && hasVNNI || !repacked && !hasVNNI
	}
	return false
}
