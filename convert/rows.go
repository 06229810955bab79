package convert

import (
	"fmt"

	"github.com/glmtool/glmtool/tensor"
)

// plainRows serves a checkpoint tensor row by row (a 1-D tensor is one row).
type plainRows struct {
	t      *SourceTensor
	rowLen int64
}

func (r *plainRows) DecodeRow(i int64, dst []float32) error {
	r.t.DecodeRange(i*r.rowLen, dst)
	return nil
}
func (r *plainRows) RowBytes() int64     { return r.rowLen * r.t.DType.Size() }
func (r *plainRows) Release(r0, n int64) { r.t.Release(r0*r.RowBytes(), n*r.RowBytes()) }

// quantizedRows dequantizes THUDM's int8/int4 weights (spec §7): one scale per output row, w = q·scale
// rounded to the scale's dtype as the reference does; int4 packs column 2j in the high nibble of byte j.
type quantizedRows struct {
	q, scale *SourceTensor
	rowLen   int64 // dequantized columns
	bits     int
}

func (r *quantizedRows) RowBytes() int64 { return r.rowLen * int64(r.bits) / 8 }

func (r *quantizedRows) DecodeRow(i int64, dst []float32) error {
	var s [1]float32
	r.scale.DecodeRange(i, s[:])
	codes := r.q.data[i*r.RowBytes() : (i+1)*r.RowBytes()]
	round := func(x float32) float32 {
		switch r.scale.DType {
		case F16:
			return tensor.F16ToF32(tensor.F32ToF16(x))
		case BF16:
			return tensor.BF16ToF32(tensor.F32ToBF16(x))
		}
		return x
	}
	if r.bits == 8 {
		for j, c := range codes {
			dst[j] = round(float32(int8(c)) * s[0])
		}
		return nil
	}
	for j, c := range codes {
		hi := int8(c) >> 4
		lo := int8(c<<4) >> 4
		dst[2*j] = round(float32(hi) * s[0])
		dst[2*j+1] = round(float32(lo) * s[0])
	}
	return nil
}
func (r *quantizedRows) Release(r0, n int64) { r.q.Release(r0*r.RowBytes(), n*r.RowBytes()) }

func (r *plainRows) Load(r0, n int64)     { r.t.Load(r0*r.RowBytes(), n*r.RowBytes()) }
func (r *quantizedRows) Load(r0, n int64) { r.q.Load(r0*r.RowBytes(), n*r.RowBytes()) }
func (r *randomRows) Load(int64, int64)   {}

// Checkpoint tensors stay memory-mapped and are read in place: Load maps the next chunk in one step,
// Release drops pages once written, and there is nothing to advance.
func (*plainRows) Advance()     {}
func (*quantizedRows) Advance() {}
func (*randomRows) Advance()    {}

// stackedRows serves several checkpoint tensors of one dtype as one, their rows one after another (q, k
// and v projections into a fused QKV); vectors (one row each) are joined into one row.
type stackedRows struct {
	parts  []*SourceTensor
	rows   []int64 // rows of each part (1-D parts: 1)
	rowLen int64
	vector bool
}

func (r *stackedRows) RowBytes() int64 { return r.rowLen * r.parts[0].DType.Size() }

func (r *stackedRows) DecodeRow(i int64, dst []float32) error {
	if r.vector {
		off := int64(0)
		for _, p := range r.parts {
			n := p.Elements()
			p.DecodeRange(0, dst[off:off+n])
			off += n
		}
		return nil
	}
	for k, p := range r.parts {
		if i < r.rows[k] {
			p.DecodeRange(i*r.rowLen, dst)
			return nil
		}
		i -= r.rows[k]
	}
	return fmt.Errorf("row %d is past the end of the stacked tensors", i)
}

// each calls f for every part that rows [r0, r0+n) overlap, with the overlap's byte range in that part.
func (r *stackedRows) each(r0, n int64, f func(p *SourceTensor, off, size int64)) {
	if r.vector {
		for _, p := range r.parts {
			f(p, 0, p.Elements()*p.DType.Size())
		}
		return
	}
	start := int64(0)
	for k, p := range r.parts {
		a, b := max(r0, start), min(r0+n, start+r.rows[k])
		if a < b {
			f(p, (a-start)*r.RowBytes(), (b-a)*r.RowBytes())
		}
		start += r.rows[k]
	}
}

func (r *stackedRows) Load(r0, n int64) {
	r.each(r0, n, func(p *SourceTensor, off, size int64) { p.Load(off, size) })
}
func (r *stackedRows) Release(r0, n int64) {
	r.each(r0, n, func(p *SourceTensor, off, size int64) { p.Release(off, size) })
}
func (*stackedRows) Advance() {}
