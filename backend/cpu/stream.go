package cpu

import (
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
)

// acts is a batch of activation rows in host memory.
type acts struct{ r [][]float32 }

func (a *acts) Rows() int { return len(a.r) }
func (a *acts) Width() int {
	if len(a.r) == 0 {
		return 0
	}
	return len(a.r[0])
}

// rows is the host rows of a.
func rows(a backend.Acts) [][]float32 { return a.(*acts).r }

// stream holds one caller's activation buffers and the state of its products and attention, so that
// evaluating a token allocates nothing once the buffers have grown.
type stream struct {
	b    *Backend
	bufs []*acts // pointers: a handle stays valid when a later buffer is added
	q8   []byte  // activations quantized to Q8_K
	acts *kernels.Q8Acts
	// The loops' arguments: they live here so that handing them to the pool allocates nothing.
	quant quantJob
	mm    matmulJob
	attn  attentionJob
	group groupJob
	act   activationJob
}

var _ backend.Stream = (*stream)(nil)

// NewStream returns a stream over b's workers.
func (b *Backend) NewStream() backend.Stream { return &stream{b: b, acts: b.k.Q8Acts()} }

// Acts returns buffer id sized n × width, reallocating only when it is too small.
func (s *stream) Acts(id backend.Buf, n, width int) backend.Acts {
	for int(id) >= len(s.bufs) {
		s.bufs = append(s.bufs, &acts{})
	}
	a := s.bufs[id]
	// The slice may have been shortened by an earlier call: its full length is still there.
	if full := a.r[:cap(a.r)]; len(full) >= n && (n == 0 || cap(full[0]) >= width) {
		for i := range n {
			full[i] = full[i][:width]
		}
		a.r = full[:n]
		return a
	}
	flat := make([]float32, n*width)
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*width : (i+1)*width : (i+1)*width]
	}
	a.r = out
	return a
}

// Free drops the stream's buffers (for the garbage collector).
func (s *stream) Free() { s.bufs, s.q8 = nil, nil }

// Embed decodes one table row per id.
func (s *stream) Embed(dst backend.Acts, table backend.Matrix, ids []int32) {
	w, x := table.(*matrix), rows(dst)
	for i, id := range ids {
		w.row(int(id), x[i])
	}
}

// CopyRows gathers src's rows into dst.
func (s *stream) CopyRows(dst, src backend.Acts, idx []int) {
	d, from := rows(dst), rows(src)
	for i := range d {
		copy(d[i], from[idx[i]])
	}
}

// Host returns the rows themselves: they are in host memory already, and nothing on the CPU fails.
func (s *stream) Host(x backend.Acts) ([][]float32, error) { return rows(x), nil }
