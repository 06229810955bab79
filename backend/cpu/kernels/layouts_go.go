package kernels

import (
	"encoding/binary"
	"math"

	"github.com/glmtool/glmtool/tensor"
)

// The VNNI kernels' arithmetic in Go, read from the same packed activations and repacked rows (q8acts.go,
// repack.go): the twins of the assembly where there is none, and what the conformance test holds the
// assembly to. Per block: the unsigned weights (actBias above the real ones, or the raw values for
// Q4_1/Q5_1) times the int8 activations, an exact integer, with the stored correction added; then scaled
// and summed over the row in float32. The assembly adds the same terms with FMA in other lanes, so the
// two agree within rounding (tests bound it), not bit for bit.

// unsignedValue is value j (0–31) of a Q4_0 or Q8_0 block as stored, as the kernels enter it: the Q4_0
// nibble (weight + 8), the Q8_0 value + 128.
func unsignedValue(t tensor.Type, blk []byte, j int) int32 {
	if t == tensor.Q8_0 {
		return int32(blk[2+j] ^ 0x80)
	}
	if j < 16 {
		return int32(blk[2+j] & 0xf)
	}
	return int32(blk[2+j-16] >> 4)
}

// gemvPairsGo is one token of the pair kernels: Q4_0 or Q8_0 rows as stored against one packed row of
// pairs·2 blocks (pairBytes per pair).
func gemvPairsGo(t tensor.Type, w, act []byte, pairs int) float32 {
	size := 18
	if t == tensor.Q8_0 {
		size = 34
	}
	var s float32
	for p := range pairs {
		pk := act[p*pairBytes : (p+1)*pairBytes]
		for h := range 2 {
			blk := w[(2*p+h)*size : (2*p+h+1)*size]
			var isum int32
			for j := range 32 {
				isum += unsignedValue(t, blk, j) * int32(int8(pk[32*h+j]))
			}
			for k := range 8 {
				isum += int32(binary.LittleEndian.Uint32(pk[64+32*h+4*k:]))
			}
			da := math.Float32frombits(binary.LittleEndian.Uint32(pk[128+32*h:]))
			s += float32(isum) * float32(tensor.HalfAt(blk)*da)
		}
	}
	return s
}

// repackedValue is value j (0–31) of block i (0–3) of a group of a repacked row, unsigned as the kernels
// enter it, with the fifth bit from the block's 32-bit high bits qh (0 for the 4- and 8-bit types).
func repackedValue(t tensor.Type, group []byte, i, j int, qh uint32) int32 {
	if t == tensor.Q8_0 {
		return int32(group[32*i+j])
	}
	b := group[32*(i%2)+j]
	v := int32(b & 0xf)
	if i >= 2 {
		v = int32(b >> 4)
	}
	return v | int32(qh>>j&1)<<4
}

// gemvRepackedGo is one token of the repacked kernels: a row of groups·4 blocks of type t that RepackRow
// rearranged (w the whole row) against one packed activation row (groupBytes per group).
func gemvRepackedGo(t tensor.Type, w, act []byte, groups int) float32 {
	nb := 4 * groups
	lay := repackLayouts[t]
	scales, rest := w[:2*nb], w[2*nb:]
	var mins, highs []byte
	if lay.min > 0 {
		mins, rest = rest[:2*nb], rest[2*nb:]
	}
	if lay.qh > 0 {
		highs, rest = rest[:4*nb], rest[4*nb:]
	}
	groupWeights := len(rest) / max(1, groups)
	var s float32
	for g := range groups {
		pk, vals := act[g*groupBytes:(g+1)*groupBytes], rest[g*groupWeights:(g+1)*groupWeights]
		for i := range 4 {
			b := 4*g + i
			var qh uint32
			if highs != nil {
				qh = binary.LittleEndian.Uint32(highs[4*b:])
			}
			var isum int32
			for j := range 32 {
				isum += repackedValue(t, vals, i, j, qh) * int32(int8(pk[32*i+j]))
			}
			da := math.Float32frombits(binary.LittleEndian.Uint32(pk[128+4*i:]))
			corr := math.Float32frombits(binary.LittleEndian.Uint32(pk[144+4*i:]))
			dw := tensor.HalfAt(scales[2*b:])
			if mins != nil { // Q4_1, Q5_1: the correction is da·Σa, times the block's min
				s += float32(dw*da)*float32(isum) + tensor.HalfAt(mins[2*b:])*corr
			} else { // the correction is −bias·da·Σa
				s += dw * (da*float32(isum) + corr)
			}
		}
	}
	return s
}

// dotQ8_0FileGo is the one-token dot of a Q4_1, Q5_0 or Q5_1 row as stored with a Q8_0 activation row,
// the AVX2 kernels' arithmetic: per block the exact Σ q·a (Q5_0: q − 16) times dw·da, and for Q4_1/Q5_1
// the block's min times da·Σa.
func dotQ8_0FileGo(t tensor.Type, w, a []byte) float32 {
	lay := repackLayouts[t]
	var s float32
	for b := range len(a) / 34 {
		blk, ab := w[b*lay.size:(b+1)*lay.size], a[b*34:(b+1)*34]
		var qh uint32
		if lay.qh > 0 {
			qh = binary.LittleEndian.Uint32(blk[lay.qh:])
		}
		nib := blk[lay.nibbles : lay.nibbles+16]
		var isum, asum int32
		for j := range 32 {
			q := int32(nib[j%16] & 0xf)
			if j >= 16 {
				q = int32(nib[j%16] >> 4)
			}
			q |= int32(qh>>j&1) << 4
			if t == tensor.Q5_0 {
				q -= 16
			}
			av := int32(int8(ab[2+j]))
			isum += q * av
			asum += av
		}
		da := tensor.HalfAt(ab)
		s += float32(isum) * float32(tensor.HalfAt(blk)*da)
		if lay.min > 0 {
			s += tensor.HalfAt(blk[lay.min:]) * float32(float32(asum)*da)
		}
	}
	return s
}
