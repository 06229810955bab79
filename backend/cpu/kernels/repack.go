package kernels

import (
	"encoding/binary"

	"github.com/glmtool/glmtool/tensor"
)

// Load-time repacking of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows for the VNNI kernels (as llama.cpp repacks
// Q4_0 for its CPU GEMMs). A repacked row holds the same number of bytes: first the nb block scales (f16),
// then, by type, the nb mins (f16: Q4_1, Q5_1) and the nb 32-bit high-bit words (Q5_0, Q5_1), then per
// group of four blocks the weights as the kernel loads them. 4- and 5-bit types: 64 bytes whose byte k has
// value k of blocks 0–1 in its low nibble and value k of blocks 2–3 in its high nibble, as stored
// (unsigned; the fifth bits are added in the kernel through byte masks). Q8_0: the 128 values + 128, as
// unsigned bytes. One or two loads then give the kernel two block pairs, and four scales convert in one
// instruction.

// repackLayout is where a block type keeps its parts: block size, offset of the min (0: none), of the
// 32-bit high bits (0: none), and of the 16 nibble bytes.
type repackLayout struct{ size, min, qh, nibbles int }

var repackLayouts = map[tensor.Type]repackLayout{
	tensor.Q4_0: {18, 0, 0, 2},
	tensor.Q4_1: {20, 2, 0, 4},
	tensor.Q5_0: {22, 0, 2, 6},
	tensor.Q5_1: {24, 2, 4, 8},
}

// CanRepack reports whether rows of cols values of type t have a repacked form in this set.
func (s *Set) CanRepack(t tensor.Type, cols int) bool {
	return int(t) < len(s.traits) && s.traits[t].repacked != nil && cols > 0 && cols%128 == 0
}

// RepackRow writes the repacked form of one row of type t (Q4_0, Q4_1, Q5_0, Q5_1 or Q8_0; len(dst) =
// len(src)).
func RepackRow(t tensor.Type, src, dst []byte) {
	if t == tensor.Q8_0 {
		nb := len(src) / 34
		for b := range nb {
			copy(dst[2*b:2*b+2], src[34*b:34*b+2])
		}
		vals := dst[2*nb:]
		const signs = 0x8080808080808080
		for b := range nb {
			q, v := src[34*b+2:34*b+34], vals[32*b:32*b+32]
			for h := 0; h < 32; h += 8 {
				binary.LittleEndian.PutUint64(v[h:], binary.LittleEndian.Uint64(q[h:])^signs)
			}
		}
		return
	}
	lay := repackLayouts[t]
	nb := len(src) / lay.size
	out := dst
	for b := range nb {
		copy(out[2*b:2*b+2], src[lay.size*b:])
	}
	out = out[2*nb:]
	if lay.min > 0 {
		for b := range nb {
			copy(out[2*b:2*b+2], src[lay.size*b+lay.min:])
		}
		out = out[2*nb:]
	}
	if lay.qh > 0 {
		for b := range nb {
			copy(out[4*b:4*b+4], src[lay.size*b+lay.qh:])
		}
		out = out[4*nb:]
	}
	repackNibbles(src, out, nb, lay)
}

// repackNibbles: with q_i the 16 nibble bytes of block i of a group, byte k of the group's 64 is, for
// k < 16, the low nibbles of q0[k] and q2[k]; 16–31, their high nibbles; 32–63, the same for q1 and q3.
// Eight bytes are done at a time.
func repackNibbles(src, nib []byte, nb int, lay repackLayout) {
	const lo = 0x0f0f0f0f0f0f0f0f
	for g := range nb / 4 {
		out := nib[64*g : 64*g+64]
		blk := src[4*lay.size*g : 4*lay.size*(g+1)]
		for i := range 2 { // blocks i and i+2 fill bytes 32i..32i+31
			a := blk[lay.size*i+lay.nibbles : lay.size*i+lay.nibbles+16]
			c := blk[lay.size*(i+2)+lay.nibbles : lay.size*(i+2)+lay.nibbles+16]
			for h := 0; h < 16; h += 8 {
				x, y := binary.LittleEndian.Uint64(a[h:]), binary.LittleEndian.Uint64(c[h:])
				binary.LittleEndian.PutUint64(out[32*i+h:], x&lo|(y&lo)<<4)
				binary.LittleEndian.PutUint64(out[32*i+16+h:], x>>4&lo|y&^lo)
			}
		}
	}
}

// DotRepacked is Dot for a row that RepackRow rearranged; the activations must have been set for
// repacked rows of the same type.
func (a *Q8Acts) DotRepacked(w []byte, t0 int, out []float32) {
	nb := a.cols / 32
	groups := nb / 4
	k := a.k.repacked
	sc, vals := &w[0], &w[len(w)-k.weightBytes*groups]
	gemv4, gemv1 := k.gemv4, k.gemv1
	i := 0
	for ; i+4 <= len(out); i += 4 {
		gemv4(sc, vals, &a.packed[(t0+i)*a.stride], groups, a.stride, &out[i])
	}
	for ; i < len(out); i++ {
		out[i] = gemv1(sc, vals, &a.packed[(t0+i)*a.stride], groups)
	}
}

// repackedKernel is one type's pair of kernels and its weight bytes per group of four blocks.
type repackedKernel struct {
	gemv1       func(scales, weights, act *byte, groups int) float32
	gemv4       func(scales, weights, act *byte, groups, stride int, out *float32)
	weightBytes int
}

var repackedKernels = map[tensor.Type]repackedKernel{
	tensor.Q4_0: {gemv1Q4_0X4VNNI, gemv4Q4_0X4VNNI, 64},
	tensor.Q4_1: {gemv1Q4_1X4VNNI, gemv4Q4_1X4VNNI, 64},
	tensor.Q5_0: {gemv1Q5_0X4VNNI, gemv4Q5_0X4VNNI, 64},
	tensor.Q5_1: {gemv1Q5_1X4VNNI, gemv4Q5_1X4VNNI, 64},
	tensor.Q8_0: {gemv1Q8_0X4VNNI, gemv4Q8_0X4VNNI, 128},
}
