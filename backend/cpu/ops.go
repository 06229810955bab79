package cpu

import (
	"math"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// rmsNorm: x / sqrt(mean(x²) + eps) · w (spec §3.2), in float64 for the sum.
func rmsNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	scale := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	for i, v := range x {
		dst[i] = v * scale * w[i]
	}
}

// layerNorm: (x - mean) / sqrt(var + eps) · w + b (ChatGLM-6B).
func layerNorm(dst, x, w, b []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(len(x))
	var vs float64
	for _, v := range x {
		d := float64(v) - mean
		vs += d * d
	}
	inv := 1 / math.Sqrt(vs/float64(len(x))+float64(eps))
	for i, v := range x {
		dst[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
	}
}

// geluTanh is the tanh approximation ChatGLM-6B uses.
func geluTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(0.7978845608028654*(v+0.044715*v*v*v))))
}

// softmax in place over x, returning nothing; -Inf entries get weight 0.
func softmax(k *kernels.Set, x []float32) {
	mx := float32(math.Inf(-1))
	nan := false
	for _, v := range x {
		if v > mx {
			mx = v
		}
		nan = nan || v != v
	}
	if nan { // a broken model: let the NaN through to the logits, where it is reported
		for i := range x {
			x[i] = float32(math.NaN())
		}
		return
	}
	// The exponentials and their sum, eight lanes at a time where the CPU has AVX-512 (the same bits as
	// the Go code, which expNeg also computes): a third of decoding's attention time at long context.
	sum := k.ExpSum(x, mx)
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// RMSNorm normalizes every row of x into dst.
func (s *stream) RMSNorm(dst, x backend.Acts, w backend.Vector, eps float32) {
	d, in, wv := rows(dst), rows(x), vec(w)
	for i := range in {
		rmsNorm(d[i], in[i], wv, eps)
	}
}

// LayerNorm normalizes every row of x into dst.
func (s *stream) LayerNorm(dst, x backend.Acts, w, b backend.Vector, eps float32) {
	d, in, wv, bv := rows(dst), rows(x), vec(w), vec(b)
	for i := range in {
		layerNorm(d[i], in[i], wv, bv, eps)
	}
}

// Add adds x to dst.
func (s *stream) Add(dst, x backend.Acts) {
	d, in := rows(dst), rows(x)
	for i := range d {
		for j := range d[i] {
			d[i][j] += in[i][j]
		}
	}
}

// ScaleAdd sets dst = alpha·x + y.
func (s *stream) ScaleAdd(dst, x backend.Acts, alpha float32, y backend.Acts) {
	d, a, b := rows(dst), rows(x), rows(y)
	for i := range d {
		for j := range d[i] {
			d[i][j] = a[i][j]*alpha + b[i][j]
		}
	}
}

// SwiGLU gates the second half of each row of x by the SiLU of its first half, over the workers.
func (s *stream) SwiGLU(dst, x backend.Acts) {
	s.act = activationJob{k: s.b.k, d: rows(dst), in: rows(x), gate: true}
	s.act.run(s.b.pool)
}

// GELU applies the tanh approximation of GELU, over the workers.
func (s *stream) GELU(dst, x backend.Acts) {
	s.act = activationJob{d: rows(dst), in: rows(x)}
	s.act.run(s.b.pool)
}

// activationJob applies SwiGLU (gate, the kernel set's SiLUMul) or GELU to rows in pieces of
// activationChunk values: one exp or tanh per value, which in a decode step of a batch of streams is
// worth the workers (ChatGLM3's 13,696 per row and layer took a tenth of a four-stream step on one core
// with math.Exp).
type activationJob struct {
	k     *kernels.Set
	d, in [][]float32
	gate  bool
}

const activationChunk = 2048

func (j *activationJob) run(p *pool) {
	if len(j.d) == 0 {
		return
	}
	per := (len(j.d[0]) + activationChunk - 1) / activationChunk
	p.run(len(j.d)*per, j)
}

func (j *activationJob) runRange(_, a, b int) {
	per := (len(j.d[0]) + activationChunk - 1) / activationChunk
	for c := a; c < b; c++ {
		i, lo := c/per, c%per*activationChunk
		d, in := j.d[i], j.in[i]
		hi := min(len(d), lo+activationChunk)
		if j.gate {
			ff := len(d)
			j.k.SiLUMul(d[lo:hi], in[lo:hi], in[ff+lo:ff+hi])
			continue
		}
		for k := lo; k < hi; k++ {
			d[k] = geluTanh(in[k])
		}
	}
}

// expNeg is e^x for x ≤ 0 in float32, within 1 ulp of math.Exp (TestExpNeg): 2^(x·log2 e) split into
// 2^n, built in the exponent bits, and 2^f for f in [-½, ½] by a degree-7 polynomial in float64. Attention's
// softmax takes one per cached position and head, where math.Exp took a third of the time of decoding at
// long context.
func expNeg(x float32) float32 {
	if x < -87.33654 || x != x { // below the smallest normal float32, ln 2^-126 (and NaN): 0
		return 0
	}
	t := float64(x) * 1.4426950408889634 // log2(e)
	n := int32(t - 0.5)                  // t ≤ 0: the nearest integer (ties either way)
	// 2^f = e^(f·ln 2), f = t - n in [-½, ½]: Taylor coefficients of e^y, |y| ≤ 0.347.
	y := (t - float64(n)) * 0.6931471805599453
	p := 1 + y*(1+y*(0.5+y*(1.0/6+y*(1.0/24+y*(1.0/120+y*(1.0/720+y*(1.0/5040)))))))
	return float32(p * float64(math.Float32frombits(uint32(n+127)<<23)))
}
