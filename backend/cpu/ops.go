package cpu

import (
	"math"

	"github.com/glmtool/glmtool/backend"
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

func silu(x float32) float32 { return x / (1 + float32(math.Exp(float64(-x)))) }

// geluTanh is the tanh approximation ChatGLM-6B uses.
func geluTanh(x float32) float32 {
	v := float64(x)
	return float32(0.5 * v * (1 + math.Tanh(0.7978845608028654*(v+0.044715*v*v*v))))
}

// softmax in place over x, returning nothing; -Inf entries get weight 0.
func softmax(x []float32) {
	mx := float32(math.Inf(-1))
	for _, v := range x {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range x {
		e := math.Exp(float64(v - mx))
		x[i] = float32(e)
		sum += e
	}
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

// SwiGLU gates the second half of each row of x by the SiLU of its first half.
func (s *stream) SwiGLU(dst, x backend.Acts) {
	d, in := rows(dst), rows(x)
	for i := range d {
		ff := len(d[i])
		for j := range d[i] {
			d[i][j] = silu(in[i][j]) * in[i][ff+j]
		}
	}
}

// GELU applies the tanh approximation of GELU.
func (s *stream) GELU(dst, x backend.Acts) {
	d, in := rows(dst), rows(x)
	for i := range d {
		for j := range d[i] {
			d[i][j] = geluTanh(in[i][j])
		}
	}
}
