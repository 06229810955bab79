package tensor

import "encoding/binary"

// Load-time repacking of Q4_0 and Q8_0 rows for the VNNI kernels (as llama.cpp repacks Q4_0 for its CPU
// GEMMs). A repacked row holds the same number of bytes: first the nb block scales (f16), then per group of
// four blocks the weights as the kernel loads them. Q4_0: 64 bytes whose byte k has value k of blocks 0–1
// in its low nibble and value k of blocks 2–3 in its high nibble (each weight + 8, as stored). Q8_0: the
// 128 values + 128, as unsigned bytes. One or two loads then give the kernel two block pairs, and four
// scales convert in one instruction.

// CanRepack reports whether rows of cols values of type t have a repacked form on this CPU.
func CanRepack(t Type, cols int) bool {
	return hasVNNI && (t == Q4_0 || t == Q8_0) && cols > 0 && cols%128 == 0
}

// RepackRow writes the repacked form of one row of type t (Q4_0 or Q8_0; len(dst) = len(src)).
func RepackRow(t Type, src, dst []byte) {
	bs := 18
	if t == Q8_0 {
		bs = 34
	}
	nb := len(src) / bs
	for b := range nb {
		copy(dst[2*b:2*b+2], src[bs*b:bs*b+2])
	}
	if t == Q8_0 {
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
	repackQ4_0Nibbles(src, dst[2*nb:], nb)
}

// repackQ4_0Nibbles: with q_i the 16 nibble bytes of block i of a group, byte k of the group's 64 is,
// for k < 16, the low nibbles of q0[k] and q2[k]; 16–31, their high nibbles; 32–63, the same for q1 and
// q3. Eight bytes are done at a time.
func repackQ4_0Nibbles(src, nib []byte, nb int) {
	const lo = 0x0f0f0f0f0f0f0f0f
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

// DotRepacked is Dot for a row that RepackRow rearranged; the activations must have been set for
// repacked rows of the same type.
func (a *Q8Acts) DotRepacked(w []byte, t0 int, out []float32) {
	nb := a.cols / 32
	groups := nb / 4
	sc, vals := &w[0], &w[2*nb]
	gemv4, gemv1 := gemv4Q4_0X4VNNI, gemv1Q4_0X4VNNI
	if a.weight == Q8_0 {
		gemv4, gemv1 = gemv4Q8_0X4VNNI, gemv1Q8_0X4VNNI
	}
	i := 0
	for ; i+4 <= len(out); i += 4 {
		gemv4(sc, vals, &a.packed[(t0+i)*a.stride], groups, a.stride, &out[i])
	}
	for ; i < len(out); i++ {
		out[i] = gemv1(sc, vals, &a.packed[(t0+i)*a.stride], groups)
	}
}
