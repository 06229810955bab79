package cpu

import (
	"math"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// groupJob attends rows over an F16 cache sixteen query heads at a time: the query heads that share a KV
// head in ChatGLM2/3 and GLM-4 (32 over 2). One index is one row's sixteen heads over one chunk of its
// visible keys. The scores come from kernels.AttnScores16F16 (each key read and decoded once for the
// sixteen heads, the heads across a register's lanes, so no score needs a horizontal sum); the
// exponentials from ExpSum against the kernel's maxima; the values from AttnValuesF16, normalized once
// at the end instead of scaling every score. With one chunk a job writes its heads' outputs; with more
// (a token's few jobs spread over many workers, flash-decoding's split) it leaves unnormalized outputs
// with their maxima and sums in part, and combineChunks merges them.
type groupJob struct {
	b                *Backend
	c                *kvCache
	l                int
	q, out           [][]float32
	visible          []int
	hd, group        int // head width; query heads per KV head
	groups           int // sixteen-head groups per row
	chunks, chunkLen int
	scale            float32
	part             []float32 // chunks > 1: per index partStride floats (outputs, maxima, sums)
}

// useGroupJob reports whether a layer's attention takes groupJob: an F16 cache, query heads per KV head
// a multiple of sixteen, and a set whose score kernel is assembly for this head width.
func useGroupJob(b *Backend, c *kvCache, group, hd int) bool {
	return c.typ == backend.KVF16 && group%kernels.AttnGroup == 0 && b.k.HasAttnScores16(hd)
}

// minChunkKeys is the fewest keys a chunk is cut to: below it the merge and the per-job setup (the
// transposed queries) cost more than spreading the keys saves.
const minChunkKeys = 256

// plan sets the chunking for rows whose most visible keys are maxVisible on workers workers: one chunk
// while the rows' groups alone give every worker a job, else enough to, of at least minChunkKeys keys.
func (j *groupJob) plan(rows, maxVisible, workers int) {
	j.chunks, j.chunkLen = 1, maxVisible
	if base := rows * j.groups; base < workers && maxVisible > minChunkKeys {
		want := (workers + base - 1) / base
		j.chunkLen = max(minChunkKeys, (maxVisible+want-1)/want)
		j.chunkLen = (j.chunkLen + kernels.AttnGroup - 1) &^ (kernels.AttnGroup - 1)
		j.chunks = (maxVisible + j.chunkLen - 1) / j.chunkLen
	}
}

func (j *groupJob) partStride() int { return kernels.AttnGroup*j.hd + 2*kernels.AttnGroup }

func (j *groupJob) runRange(worker, a, b int) {
	const G = kernels.AttnGroup
	hd, k, c := j.hd, j.b.k, j.c
	qt, scores := j.b.qt[worker][:G*hd], j.b.scores[worker]
	for job := a; job < b; job++ {
		i, hg, ch := job/(j.groups*j.chunks), job/j.chunks%j.groups, job%j.chunks
		h0 := hg * G
		k0 := ch * j.chunkLen
		n := min(j.visible[i], k0+j.chunkLen) - k0
		out := j.out[i][h0*hd : (h0+G)*hd]
		var mxs, sums []float32 // where a chunk's maxima and sums go (chunks > 1)
		if j.chunks > 1 {
			p := j.part[job*j.partStride() : (job+1)*j.partStride()]
			out, mxs, sums = p[:G*hd], p[G*hd:G*hd+G], p[G*hd+G:]
			if n <= 0 { // a row that sees fewer keys than this chunk starts at
				clear(out)
				for e := range G {
					mxs[e], sums[e] = float32(math.Inf(-1)), 0
				}
				continue
			}
		}
		q := j.q[i][h0*hd : (h0+G)*hd]
		for e := range G {
			for d, v := range q[e*hd : (e+1)*hd] {
				qt[G*d+e] = v * j.scale
			}
		}
		off := k0*c.width + h0/j.group*hd
		mx, finite := k.AttnScores16F16(qt, c.kh[j.l][off:], c.width, n, hd, scores, j.chunkLen)
		if !finite { // a broken model: let the NaN through to the logits, where it is reported
			for e := range out {
				out[e] = float32(math.NaN())
			}
			if mxs != nil {
				mxs[0] = float32(math.NaN())
			}
			continue
		}
		var sum [G]float64
		for e := range G {
			sum[e] = k.ExpSum(scores[e*j.chunkLen:e*j.chunkLen+n], mx[e])
		}
		k.AttnValuesF16(scores, j.chunkLen, c.vh[j.l][off:], c.width, n, hd, G, out)
		if mxs != nil {
			for e := range G {
				mxs[e], sums[e] = mx[e], float32(sum[e])
			}
			continue
		}
		for e := range G {
			inv := float32(1 / sum[e])
			for d := range out[e*hd : (e+1)*hd] {
				out[e*hd+d] *= inv
			}
		}
	}
}

// combineChunks merges each row's chunks (chunks > 1): every chunk's outputs and sum weighted by
// e^(its maximum − the row's), the outputs divided by the weighted sum.
func (j *groupJob) combineChunks(rows int) {
	const G = kernels.AttnGroup
	hd, ps := j.hd, j.partStride()
	for i := range rows {
		for hg := range j.groups {
			first := (i*j.groups + hg) * j.chunks
			parts := j.part[first*ps : (first+j.chunks)*ps]
			out := j.out[i][hg*G*hd : (hg+1)*G*hd]
			for e := range G {
				o := out[e*hd : (e+1)*hd]
				m := math.Inf(-1)
				nan := false
				for ch := range j.chunks {
					mc := float64(parts[ch*ps+G*hd+e])
					m = math.Max(m, mc)
					nan = nan || math.IsNaN(float64(parts[ch*ps+G*hd]))
				}
				if nan {
					for d := range o {
						o[d] = float32(math.NaN())
					}
					continue
				}
				clear(o)
				var total float64
				for ch := range j.chunks {
					p := parts[ch*ps : (ch+1)*ps]
					if p[G*hd+G+e] == 0 {
						continue // an empty chunk
					}
					w := math.Exp(float64(p[G*hd+e]) - m)
					total += w * float64(p[G*hd+G+e])
					wf := float32(w)
					for d, v := range p[e*hd : (e+1)*hd] {
						o[d] += wf * v
					}
				}
				inv := float32(1 / total)
				for d := range o {
					o[d] *= inv
				}
			}
		}
	}
}
