package infer

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// weight is a 2-D weight used in place: rows of `cols` values in its stored type (y = W·x, one output per
// row, as PyTorch's Linear).
type weight struct {
	name     string
	typ      tensor.Type
	rows     int
	cols     int
	rowBytes int
	data     []byte
}

func newWeight(f *gguf.File, name string, rows, cols int) (*weight, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	if len(t.Shape) != 2 || t.Shape[0] != int64(cols) || t.Shape[1] != int64(rows) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d, %d]", name, t.Shape, cols, rows)
	}
	if !tensor.CanDequantize(t.Type) {
		return nil, fmt.Errorf("tensor %s: type %s is not supported", name, t.Type)
	}
	rb, _ := t.Type.RowBytes(int64(cols))
	return &weight{name: name, typ: t.Type, rows: rows, cols: cols, rowBytes: int(rb), data: f.Data(t)}, nil
}

func vector(f *gguf.File, name string, n int) ([]float32, error) {
	t, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	if len(t.Shape) != 1 || t.Shape[0] != int64(n) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d]", name, t.Shape, n)
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(t.Type, f.Data(t), out); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return out, nil
}

// row decodes row r into dst.
func (w *weight) row(r int, dst []float32) {
	_ = tensor.Dequantize(w.typ, w.data[r*w.rowBytes:(r+1)*w.rowBytes], dst)
}

// matmul computes out[t][r] = W[r]·x[t] (+ bias[r]) for every token t, parallel over rows. Each weight row
// is read once per call whatever the number of tokens; F32, F16 and Q8_0/Q4_0 rows are dotted in place,
// other types are decoded one row at a time into a per-worker buffer.
func (m *Model) matmul(w *weight, x [][]float32, bias []float32, out [][]float32) {
	m.pool.run(w.rows, func(worker, r0, r1 int) {
		buf := m.scratch[worker][:w.cols]
		for r := r0; r < r1; r++ {
			rowData := w.data[r*w.rowBytes : (r+1)*w.rowBytes]
			decoded := false
			for t := range x {
				var s float32
				switch w.typ {
				case tensor.F32:
					s = dotF32(rowData, x[t])
				case tensor.F16:
					s = dotF16(rowData, x[t])
				case tensor.Q8_0:
					s = dotQ8_0(rowData, x[t])
				case tensor.Q4_0:
					s = dotQ4_0(rowData, x[t])
				default:
					if !decoded {
						w.row(r, buf)
						decoded = true
					}
					s = dot(buf, x[t])
				}
				if bias != nil {
					s += bias[r]
				}
				out[t][r] = s
			}
		}
	})
}

// dot sums in four lanes for speed and accuracy.
func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := len(a) &^ 3
	for i := 0; i < n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for i := n; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF32(row []byte, x []float32) float32 {
	var s0, s1 float32
	for i := 0; i+1 < len(x); i += 2 {
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:])) * x[i]
		s1 += math.Float32frombits(binary.LittleEndian.Uint32(row[4*i+4:])) * x[i+1]
	}
	if len(x)%2 == 1 {
		i := len(x) - 1
		s0 += math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:])) * x[i]
	}
	return s0 + s1
}

func dotF16(row []byte, x []float32) float32 {
	var s0, s1 float32
	row = row[:2*len(x)]
	for i := 0; i+1 < len(x); i += 2 {
		s0 += tensor.F16ToF32(uint16(row[2*i])|uint16(row[2*i+1])<<8) * x[i]
		s1 += tensor.F16ToF32(uint16(row[2*i+2])|uint16(row[2*i+3])<<8) * x[i+1]
	}
	if len(x)%2 == 1 {
		i := len(x) - 1
		s0 += tensor.F16ToF32(uint16(row[2*i])|uint16(row[2*i+1])<<8) * x[i]
	}
	return s0 + s1
}

func dotQ8_0(row []byte, x []float32) float32 {
	var s float32
	for b := 0; b < len(x)/32; b++ {
		blk := row[b*34 : b*34+34]
		d := tensor.F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
		xs := x[b*32 : b*32+32]
		var a0, a1 float32
		for j := 0; j < 32; j += 2 {
			a0 += float32(int8(blk[2+j])) * xs[j]
			a1 += float32(int8(blk[3+j])) * xs[j+1]
		}
		s += d * (a0 + a1)
	}
	return s
}

func dotQ4_0(row []byte, x []float32) float32 {
	var s float32
	for b := 0; b < len(x)/32; b++ {
		blk := row[b*18 : b*18+18]
		d := tensor.F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
		xs := x[b*32 : b*32+32]
		var a0, a1 float32
		for j := range 16 {
			q := blk[2+j]
			a0 += float32(int32(q&0xf)-8) * xs[j]
			a1 += float32(int32(q>>4)-8) * xs[j+16]
		}
		s += d * (a0 + a1)
	}
	return s
}
