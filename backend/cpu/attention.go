package cpu

import (
	"math"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/tensor"
)

// SplitQKV copies the query, key and value heads of each fused row into their own rows.
func (s *stream) SplitQKV(qa, ka, va, qkva backend.Acts, heads, kvHeads, hd int, layout backend.QKVLayout) {
	q, k, v, qkv := rows(qa), rows(ka), rows(va), rows(qkva)
	kvDim := kvHeads * hd
	for i, row := range qkv {
		if layout == backend.QKVPerHead {
			for h := range heads {
				base := h * 3 * hd
				copy(q[i][h*hd:(h+1)*hd], row[base:base+hd])
				copy(k[i][h*hd:(h+1)*hd], row[base+hd:base+2*hd])
				copy(v[i][h*hd:(h+1)*hd], row[base+2*hd:base+3*hd])
			}
			continue
		}
		copy(q[i], row[:heads*hd])
		copy(k[i], row[heads*hd:heads*hd+kvDim])
		copy(v[i], row[heads*hd+kvDim:heads*hd+2*kvDim])
	}
}

// RoPE rotates every head of every row at the row's position (spec §3.3).
func (s *stream) RoPE(xa backend.Acts, heads, hd int, r *backend.Rope, pos []backend.Position) {
	x := rows(xa)
	for i, row := range x {
		for h := range heads {
			head := row[h*hd : (h+1)*hd]
			if r.Mode == backend.RopeChatGLM1 {
				half := hd / 2
				rotateHalf(head[:half], float64(pos[i].Pos), r.Theta)
				rotateHalf(head[half:], float64(pos[i].Block), r.Theta)
				continue
			}
			fp := float64(pos[i].Pos)
			if r.PosScale > 1 {
				fp /= float64(r.PosScale) // chatglm2-6b-32k: position interpolation
			}
			for j, th := range r.Theta {
				ang := float64(float32(fp) * th)
				c, sn := float32(math.Cos(ang)), float32(math.Sin(ang))
				a, b := head[2*j], head[2*j+1]
				head[2*j] = a*c - b*sn
				head[2*j+1] = b*c + a*sn
			}
		}
	}
}

// rotateHalf is GPT-NeoX rotation on a half-head of ChatGLM-6B: pairs (j, j+d/2).
func rotateHalf(x []float32, pos float64, theta []float32) {
	d := len(x) / 2
	for j := range d {
		ang := float64(float32(pos) * theta[j])
		c, sn := float32(math.Cos(ang)), float32(math.Sin(ang))
		a, b := x[j], x[j+d]
		x[j] = a*c - b*sn
		x[j+d] = b*c + a*sn
	}
}

// Attention appends each sequence's keys and values to its cache and attends its rows over it, parallel
// over (row, group of query heads): sixteen heads a job where groupJob applies, else attentionJob's.
func (s *stream) Attention(dst, qa, ka, va backend.Acts, l int, seqs []backend.Seq, heads, kvHeads, hd int) {
	q, k, v, out := rows(qa), rows(ka), rows(va), rows(dst)
	b := s.b
	stride := 0
	for _, sq := range seqs {
		stride = max(stride, sq.Cache.Slots())
	}
	for w := range b.scores {
		if len(b.scores[w]) < attnHeadsPerJob*stride {
			b.scores[w] = make([]float32, attnHeadsPerJob*stride)
		}
		if len(b.kb[w]) < hd {
			b.kb[w], b.vb[w] = make([]float32, hd), make([]float32, hd)
		}
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	perJob := headsPerJob(heads / kvHeads)
	off := 0
	for _, sq := range seqs {
		c := sq.Cache.(*kvCache)
		for i := range sq.Rows {
			c.Store(l, sq.Slot+i, k[off+i], v[off+i])
		}
		if useGroupJob(b, c, heads/kvHeads, hd) {
			s.attendGroups(c, l, q[off:off+sq.Rows], out[off:off+sq.Rows], sq.Visible, heads, kvHeads, hd, scale)
			off += sq.Rows
			continue
		}
		s.attn = attentionJob{b: b, c: c, l: l, q: q[off : off+sq.Rows], out: out[off : off+sq.Rows], visible: sq.Visible,
			stride: stride, hd: hd, heads: heads, group: heads / kvHeads, scale: scale, perJob: perJob,
			f16: c.typ == backend.KVF16 && perJob == 4 && hd%16 == 0 && b.k.Traits(tensor.F16, hd, false).Kernel}
		b.pool.run(sq.Rows*heads/perJob, &s.attn)
		off += sq.Rows
	}
}

// attendGroups runs groupJob over one sequence's rows (the keys and values already stored).
func (s *stream) attendGroups(c *kvCache, l int, q, out [][]float32, visible []int, heads, kvHeads, hd int, scale float32) {
	b := s.b
	maxVisible := 0
	for _, n := range visible[:len(q)] {
		maxVisible = max(maxVisible, n)
	}
	j := &s.group
	*j = groupJob{b: b, c: c, l: l, q: q, out: out, visible: visible, hd: hd, group: heads / kvHeads,
		groups: heads / kernels.AttnGroup, scale: scale, part: j.part}
	j.plan(len(q), maxVisible, b.threads)
	for w := range b.threads {
		if len(b.scores[w]) < kernels.AttnGroup*j.chunkLen {
			b.scores[w] = make([]float32, kernels.AttnGroup*j.chunkLen)
		}
		if len(b.qt[w]) < kernels.AttnGroup*hd {
			b.qt[w] = make([]float32, kernels.AttnGroup*hd)
		}
	}
	jobs := len(q) * j.groups * j.chunks
	if j.chunks > 1 && len(j.part) < jobs*j.partStride() {
		j.part = make([]float32, jobs*j.partStride())
	}
	b.pool.run(jobs, j)
	if j.chunks > 1 {
		j.combineChunks(len(q))
	}
}

// attnHeadsPerJob is the most query heads one attention job takes. The heads of a job share a KV head
// (grouped-query attention), so each cached key and value row is read, and converted from fp16, once
// for all of them instead of once per head; four keeps eight jobs per token for ChatGLM3's two KV heads.
const attnHeadsPerJob = 4

// headsPerJob is the largest divisor of the query heads per KV head that is at most attnHeadsPerJob.
func headsPerJob(group int) int {
	for d := min(group, attnHeadsPerJob); d > 1; d-- {
		if group%d == 0 {
			return d
		}
	}
	return 1
}

// attentionJob attends one row and perJob query heads of one KV head per index: scores over the cache,
// softmax, weighted values.
type attentionJob struct {
	b                 *Backend
	c                 *kvCache
	l                 int
	q, out            [][]float32
	visible           []int
	stride, hd, heads int
	group, perJob     int
	scale             float32
	// f16: an F16 cache and four heads per job: keys are dotted with the four queries in one pass of the
	// F16 row kernel, and the values summed by tensor.AttnValuesF16, without decoding a row to float32.
	f16 bool
}

func (j *attentionJob) runRange(worker, a, b int) {
	if j.f16 {
		j.runF16(worker, a, b)
		return
	}
	hd := j.hd
	scores, kb, vb := j.b.scores[worker], j.b.kb[worker], j.b.vb[worker]
	jobsPerRow := j.heads / j.perJob
	for job := a; job < b; job++ {
		i, h0 := job/jobsPerRow, job%jobsPerRow*j.perJob
		g := h0 / j.group
		nk := j.visible[i]
		for k := range nk {
			key := j.c.key(j.l, k, g, hd, kb)
			for e := range j.perJob {
				h := h0 + e
				scores[e*j.stride+k] = j.b.k.DotF32(j.q[i][h*hd:(h+1)*hd], key) * j.scale
			}
		}
		for e := range j.perJob {
			softmax(j.b.k, scores[e*j.stride:e*j.stride+nk])
			clear(j.out[i][(h0+e)*hd : (h0+e+1)*hd])
		}
		for k := range nk {
			val := j.c.value(j.l, k, g, hd, vb)
			for e := range j.perJob {
				h := h0 + e
				j.b.k.Axpy(scores[e*j.stride+k], val, j.out[i][h*hd:(h+1)*hd])
			}
		}
	}
}

// runF16 is runRange for an F16 cache and four query heads per job.
func (j *attentionJob) runF16(worker, a, b int) {
	hd := j.hd
	scores := j.b.scores[worker]
	res := j.b.results[worker][:4]
	jobsPerRow := j.heads / 4
	c := j.c
	keys, vals := c.khBytes[j.l], c.vh[j.l]
	for job := a; job < b; job++ {
		i, h0 := job/jobsPerRow, job%jobsPerRow*4
		g := h0 / j.group
		nk := j.visible[i]
		qrow := j.q[i]
		qs := [4][]float32{qrow[h0*hd : (h0+1)*hd], qrow[(h0+1)*hd : (h0+2)*hd], qrow[(h0+2)*hd : (h0+3)*hd], qrow[(h0+3)*hd : (h0+4)*hd]}
		for k := range nk {
			off := 2 * (k*c.width + g*hd)
			j.b.k.DotFloatRows(tensor.F16, keys[off:off+2*hd], qs[:], res)
			for e, r := range res {
				scores[e*j.stride+k] = r * j.scale
			}
		}
		for e := range 4 {
			softmax(j.b.k, scores[e*j.stride:e*j.stride+nk])
		}
		j.b.k.AttnValuesF16(scores, j.stride, vals[g*hd:], c.width, nk, hd, 4, j.out[i][h0*hd:(h0+4)*hd])
	}
}
