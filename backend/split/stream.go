package split

import (
	"fmt"

	"github.com/glmtool/glmtool/backend"
)

// acts is a buffer on both backends, with where its current contents are valid.
type acts struct {
	h, d         backend.Acts
	validH, vald bool
}

func (a *acts) Rows() int  { return a.h.Rows() }
func (a *acts) Width() int { return a.h.Width() }

type stream struct {
	b    *Backend
	h, d backend.Stream
	up   Device
	bufs map[backend.Buf]*acts
	err  error // a failed copy between the backends, reported by Host
	seqs []backend.Seq
}

var _ backend.Stream = (*stream)(nil)

// NewStream returns a stream over both backends.
func (b *Backend) NewStream() backend.Stream {
	d := b.dev.NewStream()
	return &stream{b: b, h: b.host.NewStream(), d: d, up: d.(Device), bufs: map[backend.Buf]*acts{}}
}

func (s *stream) fail(err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
}

// Acts sizes buffer id on both backends; its contents are valid nowhere until written.
func (s *stream) Acts(id backend.Buf, rows, width int) backend.Acts {
	a, ok := s.bufs[id]
	if !ok {
		a = &acts{}
		s.bufs[id] = a
	}
	a.h, a.d = s.h.Acts(id, rows, width), s.d.Acts(id, rows, width)
	a.validH, a.vald = false, false
	return a
}

// in makes a's contents valid on the chosen backend (copying them over if they are only on the other)
// and returns that side.
func (s *stream) in(x backend.Acts, dev bool) backend.Acts {
	a := x.(*acts)
	switch {
	case dev && !a.vald && a.validH:
		rows, err := s.h.Host(a.h)
		s.fail(err)
		if err == nil {
			s.fail(s.up.Upload(a.d, rows))
		}
		a.vald = true
	case !dev && !a.validH && a.vald:
		rows, err := s.d.Host(a.d)
		if err != nil {
			s.fail(err)
		} else {
			dst, _ := s.h.Host(a.h) // the host's rows are its buffer itself
			for i := range dst {
				copy(dst[i], rows[i])
			}
		}
		a.validH = true
	}
	if dev {
		return a.d
	}
	return a.h
}

// out returns a's side on the chosen backend and marks it the only valid one (an operation writes it).
func (s *stream) out(x backend.Acts, dev bool) backend.Acts {
	a := x.(*acts)
	a.vald, a.validH = dev, !dev
	if dev {
		return a.d
	}
	return a.h
}

// where is the backend an operation without weights runs on: where its first input is valid (the
// device when it is valid on both).
func where(x backend.Acts) bool { return x.(*acts).vald }

func (s *stream) on(dev bool) backend.Stream {
	if dev {
		return s.d
	}
	return s.h
}

// Free frees both streams' buffers.
func (s *stream) Free() {
	s.h.Free()
	s.d.Free()
	s.bufs = map[backend.Buf]*acts{}
}

func (s *stream) Embed(dst backend.Acts, table backend.Matrix, ids []int32) {
	w := table.(*matrix)
	s.on(w.dev).Embed(s.out(dst, w.dev), w.Matrix, ids)
}

func (s *stream) MatMul(dst backend.Acts, wm backend.Matrix, x backend.Acts, bias backend.Vector, parts []int) {
	w := wm.(*matrix)
	in := s.in(x, w.dev)
	s.on(w.dev).MatMul(s.out(dst, w.dev), w.Matrix, in, vec(bias, w.dev), parts)
}

func (s *stream) RMSNorm(dst, x backend.Acts, w backend.Vector, eps float32) {
	dev := where(x)
	in := s.in(x, dev)
	s.on(dev).RMSNorm(s.out(dst, dev), in, vec(w, dev), eps)
}

func (s *stream) LayerNorm(dst, x backend.Acts, w, b backend.Vector, eps float32) {
	dev := where(x)
	in := s.in(x, dev)
	s.on(dev).LayerNorm(s.out(dst, dev), in, vec(w, dev), vec(b, dev), eps)
}

func (s *stream) Add(dst, x backend.Acts) {
	dev := where(x)
	in, d := s.in(x, dev), s.in(dst, dev)
	s.out(dst, dev)
	s.on(dev).Add(d, in)
}

func (s *stream) ScaleAdd(dst, x backend.Acts, alpha float32, y backend.Acts) {
	dev := where(x)
	in, yy := s.in(x, dev), s.in(y, dev)
	s.on(dev).ScaleAdd(s.out(dst, dev), in, alpha, yy)
}

func (s *stream) SwiGLU(dst, x backend.Acts) {
	dev := where(x)
	in := s.in(x, dev)
	s.on(dev).SwiGLU(s.out(dst, dev), in)
}

func (s *stream) GELU(dst, x backend.Acts) {
	dev := where(x)
	in := s.in(x, dev)
	s.on(dev).GELU(s.out(dst, dev), in)
}

func (s *stream) SplitQKV(q, k, v, qkv backend.Acts, heads, kvHeads, hd int, layout backend.QKVLayout) {
	dev := where(qkv)
	in := s.in(qkv, dev)
	s.on(dev).SplitQKV(s.out(q, dev), s.out(k, dev), s.out(v, dev), in, heads, kvHeads, hd, layout)
}

func (s *stream) RoPE(x backend.Acts, heads, hd int, r *backend.Rope, pos []backend.Position) {
	dev := where(x)
	in := s.in(x, dev)
	s.out(x, dev)
	s.on(dev).RoPE(in, heads, hd, r, pos)
}

// Attention runs where layer l's cache is, on each sequence's cache of that backend.
func (s *stream) Attention(dst, q, k, v backend.Acts, l int, seqs []backend.Seq, heads, kvHeads, hd int) {
	if len(seqs) == 0 {
		return
	}
	_, li, dev := seqs[0].Cache.(*kvCache).layer(l)
	s.seqs = s.seqs[:0]
	for _, sq := range seqs {
		c, _, _ := sq.Cache.(*kvCache).layer(l)
		sq.Cache = c
		s.seqs = append(s.seqs, sq)
	}
	qq, kk, vv := s.in(q, dev), s.in(k, dev), s.in(v, dev)
	s.on(dev).Attention(s.out(dst, dev), qq, kk, vv, li, s.seqs, heads, kvHeads, hd)
}

func (s *stream) CopyRows(dst, src backend.Acts, rows []int) {
	dev := where(src)
	in := s.in(src, dev)
	s.on(dev).CopyRows(s.out(dst, dev), in, rows)
}

// Host brings x to the host and reports the first failure of either backend or of a copy between them.
func (s *stream) Host(x backend.Acts) ([][]float32, error) {
	a := x.(*acts)
	if a.vald && !a.validH {
		s.in(x, false)
	} else {
		s.fail(s.up.Sync()) // the device's failures, if any of its work failed
	}
	rows, err := s.h.Host(a.h)
	s.fail(err)
	err, s.err = s.err, nil
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.b.Name(), err)
	}
	return rows, nil
}
