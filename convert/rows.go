package convert

import (
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
