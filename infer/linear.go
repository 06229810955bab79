package infer

import (
	"fmt"

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
	repacked bool // rows rearranged by tensor.RepackRow (resident models only)
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

// matmul computes out[t][r] = W[r]·x[t] (+ bias[r]) for every token t, parallel over rows. As in ggml,
// Q4_0…Q8_0 rows meet activations quantized once to Q8_0 (integer block dot products, scaled once per
// block), Q4_K/Q5_K/Q6_K rows meet Q8_K activations, F32/F16/BF16 rows meet the float activations, up to
// four tokens per pass over a row where a kernel allows; rows without a kernel are decoded one at a time
// into a per-worker buffer. Tokens are taken in chunks whose activations fit in the L2 cache, so a chunk
// streams each weight row once.
//
// The rows of a batch (one token of each of several sessions) use the four-token kernels only where those
// give every row the one-token kernel's exact result (tensor.FourTokensExact), so that each session gets
// what it would alone.
func (m *Model) matmul(w *weight, x [][]float32, bias []float32, out [][]float32, ws *workspace, batch bool) {
	job := &ws.mm
	*job = matmulJob{m: m, w: w, x: x, bias: bias, out: out, chunk: len(x), step: 4}
	if batch && !tensor.FourTokensExact(w.typ, w.repacked) {
		job.step = 1
	}
	switch act := activationType(w); act {
	case tensor.Q8_0:
		// Cannot fail: activationType checked the type and width.
		_ = ws.acts.Reset(len(x), w.cols, w.typ, w.repacked)
		if len(x) < parallelQuantRows {
			for t, row := range x {
				ws.acts.QuantizeRow(t, row)
			}
		} else { // a prompt: quantizing is worth splitting over the workers too
			ws.quant = quantJob{acts: &ws.acts, x: x}
			m.pool.run(len(x), &ws.quant)
		}
		job.acts = &ws.acts
		job.chunk = tokenChunk(len(x), ws.acts.RowBytes())
	case tensor.F32:
		if floatKernel(w) {
			job.float = true
			job.chunk = tokenChunk(len(x), w.cols*4)
		}
	case tensor.Q8_K:
		rb64, _ := act.RowBytes(int64(w.cols))
		rb := int(rb64)
		if cap(ws.q8) < rb*len(x) {
			ws.q8 = make([]byte, rb*len(x))
		}
		job.q8, job.q8Row = ws.q8[:rb*len(x)], rb
		job.chunk = tokenChunk(len(x), rb)
		for t := range x {
			_ = tensor.Quantize(act, x[t], job.q8[t*rb:(t+1)*rb])
		}
	}
	m.pool.run(w.rows, job)
}

// tokenChunk is how many of n tokens, whose activations take rowBytes each, one pass over the weights
// takes: as many as fit in actsCacheBytes (a share of a core's L2 cache), a multiple of four (the
// kernels' step), at most maxChunk.
func tokenChunk(n, rowBytes int) int {
	c := min(maxChunk, actsCacheBytes/max(1, rowBytes)) &^ 3
	return max(1, min(n, max(4, c)))
}

const (
	maxChunk         = 64
	actsCacheBytes   = 512 << 10
	weightCacheBytes = 256 << 10 // a block of rows kept in L2 while a chunk's tokens pass over it
)

// activationType is what the activations are quantized to for w's type, as in ggml's vec_dot_type:
// Q8_0 for Q4_0/Q8_0 (and Q4_1/Q5_0/Q5_1 where a kernel exists), Q8_K for Q4_K/Q5_K/Q6_K (rows a multiple
// of 256), F32 (no quantization) otherwise.
func activationType(w *weight) tensor.Type {
	switch w.typ {
	case tensor.Q4_0, tensor.Q8_0:
		if w.cols%32 == 0 {
			return tensor.Q8_0
		}
	case tensor.Q4_1, tensor.Q5_0, tensor.Q5_1:
		if w.cols%32 == 0 && tensor.HasQ8Dot(w.typ, w.repacked) {
			return tensor.Q8_0
		}
	case tensor.Q4_K, tensor.Q5_K, tensor.Q6_K:
		if w.cols%tensor.QK_K == 0 {
			return tensor.Q8_K
		}
	}
	return tensor.F32
}

// parallelQuantRows is the number of activation rows from which quantizing them is split over the pool.
const parallelQuantRows = 8

// quantJob quantizes activation rows in parallel (rows are independent).
type quantJob struct {
	acts *tensor.Q8Acts
	x    [][]float32
}

func (j *quantJob) runRange(_, a, b int) {
	for t := a; t < b; t++ {
		j.acts.QuantizeRow(t, j.x[t])
	}
}

// matmulJob is one matmul's arguments; it lives in the session's workspace so that running it allocates
// nothing.
type matmulJob struct {
	m     *Model
	w     *weight
	x     [][]float32
	bias  []float32
	out   [][]float32
	chunk int            // tokens per pass over the rows
	step  int            // tokens per kernel call: 4, or 1 where a batch needs the one-token kernels
	float bool           // F32/F16/BF16 rows with an assembly kernel (tensor.DotFloatRows)
	acts  *tensor.Q8Acts // Q8_0 activations, for Q4_0…Q8_0 weights
	q8    []byte         // Q8_K activation rows of q8Row bytes, for K-quant weights
	q8Row int
}

func (j *matmulJob) runRange(worker, r0, r1 int) {
	if j.float || j.acts != nil || j.q8 != nil {
		j.runTiled(worker, r0, r1)
		return
	}
	w := j.w
	buf := j.m.scratch[worker][:w.cols]
	for r := r0; r < r1; r++ { // no kernel for this type: decode each row once, for every token
		w.row(r, buf)
		for t := range j.x {
			j.store(t, r, tensor.DotF32(buf, j.x[t]))
		}
	}
}

// runTiled is the loop for kernels that take (up to) four tokens per pass over a row. Tiles keep each level of
// cache busy with one thing: a chunk of tokens whose activations fit in L2 (j.chunk), a block of rows
// whose weights fit in L2 beside them (read from memory once per chunk), and four tokens whose
// activations stay in L1 while the kernel runs over every row of the block.
func (j *matmulJob) runTiled(worker, r0, r1 int) {
	w := j.w
	rowBlock := max(1, weightCacheBytes/w.rowBytes)
	res := j.m.results[worker]
	for t0 := 0; t0 < len(j.x); t0 += j.chunk {
		t1 := min(len(j.x), t0+j.chunk)
		for b0 := r0; b0 < r1; b0 += rowBlock {
			b1 := min(r1, b0+rowBlock)
			for g := t0; g < t1; g += j.step {
				n := min(j.step, t1-g)
				var q8rows [4][]byte // the group's K-quant activation rows
				if j.q8 != nil {
					for i := range n {
						q8rows[i] = j.q8[(g+i)*j.q8Row : (g+i+1)*j.q8Row]
					}
				}
				r := b0
				if j.float && n == 4 && tensor.HasFloatTile() {
					r = j.floatTiles(worker, g, b0, b1)
				}
				for ; r < b1; r++ {
					rowData := w.data[r*w.rowBytes : (r+1)*w.rowBytes]
					switch {
					case j.q8 != nil: // K-quants: four tokens per call where a kernel has them, else one
						if n < 4 || !tensor.DotKQ8_K4(w.typ, rowData, &q8rows, res[:4]) {
							for i := range n {
								res[i] = tensor.DotKQ8_K(w.typ, rowData, q8rows[i])
							}
						}
					case j.float:
						tensor.DotFloatRows(w.typ, rowData, j.x[g:g+n], res[:n])
					case w.repacked:
						j.acts.DotRepacked(rowData, g, res[:n])
					default:
						j.acts.Dot(rowData, g, res[:n])
					}
					for i, s := range res[:n] {
						j.store(g+i, r, s)
					}
				}
			}
		}
	}
}

// floatTiles runs the four-row, four-token float tile over rows [b0, b1) for tokens g..g+3 and returns
// the first row it left (fewer than four remain).
func (j *matmulJob) floatTiles(worker, g, b0, b1 int) int {
	w := j.w
	tile := &j.m.tiles[worker]
	r := b0
	for ; r+4 <= b1; r += 4 {
		tensor.DotFloatTile(w.typ, w.data[r*w.rowBytes:(r+4)*w.rowBytes], w.rowBytes, j.x[g:g+4], tile)
		for k, s := range tile {
			j.store(g+k%4, r+k/4, s)
		}
	}
	return r
}

func (j *matmulJob) store(t, r int, s float32) {
	if j.bias != nil {
		s += j.bias[r]
	}
	j.out[t][r] = s
}

// floatKernel reports whether w's rows have an assembly dot against float activations.
func floatKernel(w *weight) bool {
	switch w.typ {
	case tensor.F32, tensor.F16, tensor.BF16:
		return tensor.HasFloatKernels() && w.cols >= 16
	}
	return false
}
