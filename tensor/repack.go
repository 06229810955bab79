package tensor

import "encoding/binary"

// Load-time repacking of Q4_0 rows for the VNNI kernels (as llama.cpp repacks Q4_0 for its CPU GEMMs). A
// repacked row holds the same bytes rearranged: first the nb block scales (f16), then per group of four
// blocks 64 bytes whose byte k has value k of blocks 0–1 in its low nibble and value k of blocks 2–3 in
// its high nibble (each a 4-bit weight + 8, as in Q4_0). One load and two masks then give the kernel two
// block pairs, and four scales convert in one instruction.

// CanRepack reports whether rows of cols values of type t have a repacked form on this CPU.
func CanRepack(t Type, cols int) bool {
	return hasVNNI && t == Q4_0 && cols > 0 && cols%128 == 0
}

// RepackRow writes the repacked form of one Q4_0 row (len(src) = len(dst) = cols/32·18 bytes). With q_i the
// 16 nibble bytes of block i of a group, byte k of the group's 64 is: k < 16, the low nibbles of q0[k] and
// q2[k]; 16–31, their high nibbles; 32–63, the same for q1 and q3. Eight bytes are done at a time.
func RepackRow(src, dst []byte) {
	const lo = 0x0f0f0f0f0f0f0f0f
	nb := len(src) / 18
	for b := range nb {
		copy(dst[2*b:2*b+2], src[18*b:18*b+2])
	}
	nib := dst[2*nb:]
	for g := range nb / 4 {
		out := nib[64*g : 64*g+64]
		blk := src[72*g : 72*g+72]
		for i := range 2 { // blocks i and i+2 fill bytes 32i..32i+31
			a, c := blk[18*i+2:18*i+18], blk[18*(i+2)+2:18*(i+2)+18]
			for h := 0; h < 16; h += 8 {
				x, y := binary.LittleEndian.Uint64(a[h:]), binary.LittleEndian.Uint64(c[h:])
				binary.LittleEndian.PutUint64(out[32*i+h:], x&lo|(y&lo)<<4)
				binary.LittleEndian.PutUint64(out[32*i+16+h:], x>>4&lo|y&^lo)
			}
		}
	}
}

// DotRepacked is Dot for a row that RepackRow rearranged; the activations must be set for Q4_0 weights.
func (a *Q8Acts) DotRepacked(w []byte, t0 int, out []float32) {
	nb := a.cols / 32
	groups := nb / 4
	sc, nib := &w[0], &w[2*nb]
	i := 0
	for ; i+4 <= len(out); i += 4 {
		gemv4Q4_0X4VNNI(sc, nib, &a.packed[(t0+i)*a.stride], groups, a.stride, &out[i])
	}
	for ; i < len(out); i++ {
		out[i] = gemv1Q4_0X4VNNI(sc, nib, &a.packed[(t0+i)*a.stride], groups)
	}
}
