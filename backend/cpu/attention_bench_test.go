package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// BenchmarkAttentionDecode: one decoded token of ChatGLM3-6B's attention (32 query heads, 2 KV heads of
// 128) over 4096 cached positions of an F16 cache, one layer, on one worker: the F16 kernels' path against
// the generic one (decode each row, then one dot or axpy per head), and sixteen heads a job (groupJob)
// where the set has its score kernel.
func BenchmarkAttentionDecode(bm *testing.B) {
	const heads, kvHeads, hd, nk = 32, 2, 128, 4096
	b := testBackend(bm, 1)
	kc, _ := b.NewKV(1, nk, kvHeads*hd, backend.KVF16)
	c := kc.(*kvCache)
	rng := rand.New(rand.NewPCG(1, 1))
	row := make([]float32, kvHeads*hd)
	for p := range nk {
		for i := range row {
			row[i] = float32(rng.NormFloat64())
		}
		c.Store(0, p, row, row)
	}
	q := [][]float32{make([]float32, heads*hd)}
	for i := range q[0] {
		q[0][i] = float32(rng.NormFloat64())
	}
	out := [][]float32{make([]float32, heads*hd)}
	b.scores[0] = make([]float32, attnHeadsPerJob*nk)
	b.kb[0], b.vb[0] = make([]float32, hd), make([]float32, hd)
	for _, f16 := range []bool{false, true} {
		name := "generic"
		if f16 {
			name = "f16-kernels"
		}
		bm.Run(name, func(bm *testing.B) {
			j := &attentionJob{b: b, c: c, q: q, out: out, visible: []int{nk}, stride: nk, hd: hd, heads: heads,
				group: heads / kvHeads, scale: 0.088, perJob: 4, f16: f16}
			for bm.Loop() {
				j.runRange(0, 0, heads/4)
			}
		})
	}
	if !useGroupJob(b, c, heads/kvHeads, hd) {
		return
	}
	bm.Run("groups", func(bm *testing.B) {
		b.scores[0] = make([]float32, kernels.AttnGroup*nk)
		b.qt[0] = make([]float32, kernels.AttnGroup*hd)
		j := &groupJob{b: b, c: c, q: q, out: out, visible: []int{nk}, hd: hd, group: heads / kvHeads,
			groups: heads / kernels.AttnGroup, chunks: 1, chunkLen: nk, scale: 0.088}
		for bm.Loop() {
			j.runRange(0, 0, j.groups)
		}
	})
}

func BenchmarkSoftmax4096(bm *testing.B) {
	k := testBackend(bm, 1).k
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%97) * 0.01
	}
	for bm.Loop() {
		softmax(k, x)
	}
}
