package cpu

import (
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/tensor"
)

// MatMul computes out[t][r] = W[r]·x[t] (+ bias[r]) for every token t, parallel over rows. As in ggml,
// Q4_0…Q8_0 rows meet activations quantized once to Q8_0 (integer block dot products, scaled once per
// block), Q4_K/Q5_K/Q6_K rows meet Q8_K activations, F32/F16/BF16 rows meet the float activations, up to
// four tokens per pass over a row where a kernel allows; rows without a kernel are decoded one at a time
// into a per-worker buffer. Tokens are taken in chunks whose activations fit in the L2 cache, so a chunk
// streams each weight row once.
//
// The parts of a batch (several sessions' rows) get what they would alone: in one pass where every row's
// result is the same whatever the tokens beside it (the panels, and kernel sets whose four-token kernels
// give the one-token kernel's bits: Traits.RowsExact); else a pass of one-token kernels over each run of
// one-row parts (decode steps), and a pass of its own for each longer part (a prompt's chunk), as its
// product alone would take.
func (s *stream) MatMul(dst backend.Acts, wm backend.Matrix, xa backend.Acts, bias backend.Vector, parts []int) {
	w, x, out := wm.(*matrix), rows(xa), rows(dst)
	if len(parts) > 1 && !w.panels && !w.kpanels && !s.b.k.Traits(w.src.Type, w.src.Cols, w.repacked).RowsExact {
		off := 0
		for i := 0; i < len(parts); {
			j, n, step := i+1, parts[i], 4
			if n == 1 {
				for j < len(parts) && parts[j] == 1 {
					j++
				}
				n, step = j-i, 1
			}
			s.matmul(out[off:off+n], w, x[off:off+n], vec(bias), step)
			off, i = off+n, j
		}
		return
	}
	s.matmul(out, w, x, vec(bias), 4)
}

// matmul is one pass of MatMul over the rows x, step tokens per kernel call (4, or 1 for the one-token
// kernels' bits).
func (s *stream) matmul(out [][]float32, w *matrix, x [][]float32, bias []float32, step int) {
	b, ws := s.b, s
	job := &ws.mm // in the stream, so that a product allocates nothing
	*job = matmulJob{b: b, w: w, x: x, bias: bias, out: out, chunk: len(x), step: step}
	tr := b.k.Traits(w.src.Type, w.src.Cols, w.repacked)
	switch act := tr.VecDotType; {
	case w.panels: // Q4_0 or Q8_0 rows in panels: the AMX or AVX2 panel kernels, every token count alike (exact)
		_ = ws.acts.ResetPanels(w.src.Type, len(x), w.src.Cols) // cannot fail: the set packed these panels
		ws.quantize(x)
		job.acts, job.panels = ws.acts, true
		job.chunk = tokenChunk(len(x), w.src.Cols/32*34)
		b.pool.run(w.src.Rows/kernels.PanelRows, job)
		return
	case w.kpanels: // Q4_K rows in panels: the AVX2 panel kernels (exact for every token count)
		rb64, _ := tensor.Q8_K.RowBytes(int64(w.src.Cols))
		job.q8, job.q8Row = ws.q8Rows(x, int(rb64)), int(rb64)
		job.kpanels = true
		job.chunk = tokenChunk(len(x), job.q8Row)
		b.pool.run(w.src.Rows/kernels.KPanelRows, job)
		return
	case !tr.Kernel: // no kernel: rows decoded one at a time
	case act == tensor.Q8_0:
		// Cannot fail: Traits checked the type and width.
		_ = ws.acts.Reset(len(x), w.src.Cols, w.src.Type, w.repacked)
		ws.quantize(x)
		job.acts = ws.acts
		job.chunk = tokenChunk(len(x), ws.acts.RowBytes())
	case act == tensor.F32:
		job.float = true
		job.chunk = tokenChunk(len(x), w.src.Cols*4)
	case act == tensor.Q8_K:
		rb64, _ := act.RowBytes(int64(w.src.Cols))
		job.q8, job.q8Row = ws.q8Rows(x, int(rb64)), int(rb64)
		job.chunk = tokenChunk(len(x), job.q8Row)
	}
	b.pool.run(w.src.Rows, job)
}

// q8Rows quantizes x to Q8_K rows of rb bytes in the stream's buffer.
func (s *stream) q8Rows(x [][]float32, rb int) []byte {
	if cap(s.q8) < rb*len(x) {
		s.q8 = make([]byte, rb*len(x))
	}
	q8 := s.q8[:rb*len(x)]
	for t := range x {
		_ = tensor.Quantize(tensor.Q8_K, x[t], q8[t*rb:(t+1)*rb])
	}
	return q8
}

// quantize fills the stream's Q8_0 activations from x, over the workers for a prompt.
func (s *stream) quantize(x [][]float32) {
	if len(x) < parallelQuantRows {
		for t, row := range x {
			s.acts.QuantizeRow(t, row)
		}
		return
	}
	s.quant = quantJob{acts: s.acts, x: x} // a prompt: quantizing is worth splitting over the workers too
	s.b.pool.run(len(x), &s.quant)
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

// parallelQuantRows is the number of activation rows from which quantizing them is split over the pool:
// from two, so that a batch of streams' rows (quantized serially, about 18 ms of CPU time a four-stream
// step of a 6B model) are shared too.
const parallelQuantRows = 2

// quantJob quantizes activation rows in parallel (rows are independent).
type quantJob struct {
	acts *kernels.Q8Acts
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
	b       *Backend
	w       *matrix
	x       [][]float32
	bias    []float32
	out     [][]float32
	chunk   int             // tokens per pass over the rows
	step    int             // tokens per kernel call: 4, or 1 where a batch needs the one-token kernels
	float   bool            // F32/F16/BF16 rows with a float kernel (kernels.Set.DotFloatRows)
	panels  bool            // Q4_0 or Q8_0 rows in panels (runRange counts panels, not rows)
	kpanels bool            // Q4_K rows in panels of 8 (likewise; runPanels for both)
	acts    *kernels.Q8Acts // Q8_0 activations, for Q4_0…Q8_0 weights
	q8      []byte          // Q8_K activation rows of q8Row bytes, for K-quant weights
	q8Row   int
}

func (j *matmulJob) runRange(worker, r0, r1 int) {
	if j.panels || j.kpanels {
		j.runPanels(worker, r0, r1)
		return
	}
	if j.float || j.acts != nil || j.q8 != nil {
		j.runTiled(worker, r0, r1)
		return
	}
	w := j.w
	buf := j.b.scratch[worker][:w.src.Cols]
	for r := r0; r < r1; r++ { // no kernel for this type: decode each row once, for every token
		w.row(r, buf)
		for t := range j.x {
			j.store(t, r, j.b.k.DotF32(buf, j.x[t]))
		}
	}
}

// runTiled is the loop for kernels that take (up to) four tokens per pass over a row. Tiles keep each level of
// cache busy with one thing: a chunk of tokens whose activations fit in L2 (j.chunk), a block of rows
// whose weights fit in L2 beside them (read from memory once per chunk), and four tokens whose
// activations stay in L1 while the kernel runs over every row of the block.
func (j *matmulJob) runTiled(worker, r0, r1 int) {
	w, k := j.w, j.b.k
	rowBlock := max(1, weightCacheBytes/w.rowBytes)
	res := j.b.results[worker]
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
				if j.float && n == 4 && k.HasFloatTile() {
					r = j.floatTiles(worker, g, b0, b1)
				}
				for ; r < b1; r++ {
					rowData := w.data[r*w.rowBytes : (r+1)*w.rowBytes]
					switch {
					case j.q8 != nil: // K-quants: four tokens per call where a kernel has them, else one
						if n < 4 || !k.DotKQ8_K4(w.src.Type, rowData, q8rows, res[:4]) {
							for i := range n {
								res[i] = k.DotKQ8_K(w.src.Type, rowData, q8rows[i])
							}
						}
					case j.float:
						k.DotFloatRows(w.src.Type, rowData, j.x[g:g+n], res[:n])
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

// runPanels is runTiled for rows in panels, over panels [p0, p1): a chunk of tokens at a time, a block of
// panels whose weights stay in L2 across the chunk, sixteen tokens per kernel call. Q4_0/Q8_0 panels
// (16 rows) take the Q8_0 activations, Q4_K panels (8 rows) the Q8_K rows.
func (j *matmulJob) runPanels(worker, p0, p1 int) {
	w := j.w
	rows := kernels.PanelRows
	if j.kpanels {
		rows = kernels.KPanelRows
	}
	per := panelsPerCall(w, rows)
	panelBytes := rows * w.rowBytes
	out, staging := j.b.panelOut[worker], j.b.staging[worker]
	stride := rows * per
	for t0 := 0; t0 < len(j.x); t0 += j.chunk {
		t1 := min(len(j.x), t0+j.chunk)
		for q0 := p0; q0 < p1; q0 += per {
			q1 := min(p1, q0+per)
			data := w.data[q0*panelBytes : q1*panelBytes]
			for g := t0; g < t1; g += 16 {
				n := min(16, t1-g)
				if j.kpanels {
					j.b.k.DotKPanels(data, q1-q0, j.q8[g*j.q8Row:], j.q8Row, n, out, stride)
				} else {
					j.acts.DotPanels(data, q1-q0, g, n, out, stride, staging)
				}
				r0 := rows * q0
				for i := range n {
					for r, s := range out[i*stride : i*stride+rows*(q1-q0)] {
						j.store(g+i, r0+r, s)
					}
				}
			}
		}
	}
}

// panelsPerCall is how many of w's panels of rows rows one kernel call takes: as many as fit in
// weightCacheBytes.
func panelsPerCall(w *matrix, rows int) int { return max(1, weightCacheBytes/(rows*w.rowBytes)) }

// floatTiles runs the four-row, four-token float tile over rows [b0, b1) for tokens g..g+3 and returns
// the first row it left (fewer than four remain).
func (j *matmulJob) floatTiles(worker, g, b0, b1 int) int {
	w := j.w
	tile := &j.b.tiles[worker]
	rows := j.b.k.FloatTileRows()
	r := b0
	for ; r+rows <= b1; r += rows {
		j.b.k.DotFloatTile(w.src.Type, w.data[r*w.rowBytes:(r+rows)*w.rowBytes], w.rowBytes, j.x[g:g+4], tile)
		for k, s := range tile[:4*rows] {
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
