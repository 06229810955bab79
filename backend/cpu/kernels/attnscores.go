package kernels

import (
	"math"
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// AttnGroup is the number of query heads AttnScores16F16 scores at once: the lanes of one AVX-512
// register, and the query heads per KV head of ChatGLM2/3 and GLM-4 (32 heads over 2 KV heads).
const AttnGroup = 16

// AttnScoresMaxHD is the widest head AttnScores16F16 takes (its key scratch rows are this wide).
const AttnScoresMaxHD = 128

// HasAttnScores16 reports whether AttnScores16F16 runs in assembly in this set for heads of hd values
// (AVX2 or AVX-512, hd a multiple of 16 up to AttnScoresMaxHD); elsewhere it is Go code that callers
// with faster per-key kernels should not prefer.
func (s *Set) HasAttnScores16(hd int) bool {
	return s.hasAVX2() && hd%16 == 0 && hd > 0 && hd <= AttnScoresMaxHD
}

// AttnScores16F16 is attention's scores of sixteen query heads that share a KV head over nk F16 keys:
// scores[h·sstride+k] = Σ_d qt[16d+h] · key_k[d], where qt holds the (scaled) queries transposed —
// dimension d of all sixteen heads side by side — and key k's hd halves are at keys[k·kstride:]. Each
// key is decoded once for the sixteen heads and no score needs a horizontal sum. It returns each head's
// largest score and whether every score is finite (false: a NaN or infinity, a broken model). hd is a
// multiple of 16 and at most AttnScoresMaxHD; nk at least 1. The kernel sums each score in order of d with
// fused multiply-adds; the Go code without fusing, so the two agree within float32 rounding.
func (s *Set) AttnScores16F16(qt []float32, keys []uint16, kstride, nk, hd int, scores []float32, sstride int) (mx [AttnGroup]float32, finite bool) {
	_ = qt[AttnGroup*hd-1]
	_ = keys[(nk-1)*kstride+hd-1]
	_ = scores[(AttnGroup-1)*sstride+nk-1]
	var stat [2 * AttnGroup]float32
	for h := range AttnGroup {
		stat[h] = float32(math.Inf(-1))
	}
	kernel, block := attnScores16F16Blocks, AttnGroup
	switch {
	case s.hasAVX512():
		kernel = attnScores16F16AVX512
	case s.hasAVX2():
		kernel, block = attnScores16F16AVX2, 4
	}
	var scratch [AttnGroup * AttnScoresMaxHD]float32
	if full := nk / block; full > 0 {
		kernel(&qt[0], (*byte)(unsafe.Pointer(&keys[0])), 2*kstride, full, hd, &scratch[0], &scores[0], 4*sstride, &stat[0])
	}
	if k0 := nk - nk%block; k0 < nk {
		// The last keys, padded to a block with copies of the last one (which leave the maximum and the
		// check as they are), scored into a block of their own.
		var pad [AttnGroup * AttnScoresMaxHD]uint16
		var tail [AttnGroup * AttnGroup]float32
		for j := range block {
			k := min(k0+j, nk-1)
			copy(pad[j*hd:(j+1)*hd], keys[k*kstride:k*kstride+hd])
		}
		kernel(&qt[0], (*byte)(unsafe.Pointer(&pad[0])), 2*hd, 1, hd, &scratch[0], &tail[0], 4*AttnGroup, &stat[0])
		for h := range AttnGroup {
			copy(scores[h*sstride+k0:h*sstride+nk], tail[h*AttnGroup:h*AttnGroup+nk-k0])
		}
	}
	finite = true
	for h := range AttnGroup {
		mx[h] = stat[h]
		finite = finite && stat[AttnGroup+h] == 0
	}
	return mx, finite
}

// attnScores16F16Blocks is the Go code of the generic set: attnScores16F16Go over blocks of sixteen keys.
func attnScores16F16Blocks(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32) {
	attnScores16F16Go(qt, keys, kstride, AttnGroup*nblocks, hd, out, sstride, stat)
}

// attnScores16F16Go is the kernels' Go twin over n keys (kstride and sstride in bytes): the same scores,
// maximum and check.
func attnScores16F16Go(qt *float32, keys *byte, kstride, n, hd int, out *float32, sstride int, stat *float32) {
	q := unsafe.Slice(qt, AttnGroup*hd)
	st := unsafe.Slice(stat, 2*AttnGroup)
	for k := range n {
		key := unsafe.Slice((*uint16)(unsafe.Add(unsafe.Pointer(keys), k*kstride)), hd)
		for h := range AttnGroup {
			var acc float32
			for d, v := range key {
				acc += q[AttnGroup*d+h] * tensor.F16ToF32(v)
			}
			*(*float32)(unsafe.Add(unsafe.Pointer(out), h*sstride+4*k)) = acc
			st[h] = max(st[h], acc)
			st[AttnGroup+h] += 0 * acc
		}
	}
}
