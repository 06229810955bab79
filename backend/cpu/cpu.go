// Package cpu is the CPU backend: weights used in place from the file mapping or copied onto huge pages
// and repacked or packed in panels for the kernels (resident.go), matrix products tiled for the caches over
// the kernel set's per-type table (matmul.go), a persistent worker pool handing out row chunks (pool.go), norms and activations
// (ops.go), RoPE and attention over an F16 or F32 KV cache (attention.go, kv.go). The dot products, softmax
// exponentials and stream probe are one kernel set (kernels/), chosen when the backend starts.
package cpu

import (
	"fmt"
	"runtime"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/internal/mmap"
	"github.com/glmtool/glmtool/tensor"
)

// Backend computes on the CPU with a fixed set of worker goroutines.
type Backend struct {
	k        *kernels.Set
	threads  int
	pool     *pool
	matrices []*matrix
	resident *mmap.Anonymous // the weights' copy (Commit with resident), or nil

	// Per-worker buffers, shared by the streams: streams take turns (backend.Backend.NewStream).
	scratch [][]float32   // one row buffer per worker
	results [][]float32   // one buffer of a chunk's dot products per worker
	tiles   [][16]float32 // one float tile's results per worker
	scores  [][]float32   // attention scores per worker
	kb, vb  [][]float32   // one decoded fp16 key and value per worker
	qt      [][]float32   // a sixteen-head group's transposed queries per worker (groupJob)
	// Per-worker scratch and results of the panel kernels (panelBuffers), where a matrix has panels.
	staging  [][]byte
	panelOut [][]float32
}

var _ backend.Backend = (*Backend)(nil)

// New starts a backend with threads workers (0: one per CPU) on the default kernel set (kernels.Default:
// the best this CPU runs, limited by GLMTOOL_KERNELS, whose unknown values are the error).
func New(threads int) (*Backend, error) {
	k, err := kernels.Default()
	if err != nil {
		return nil, err
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	b := &Backend{k: k, threads: threads, pool: newPool(threads)}
	b.scratch = make([][]float32, threads)
	b.results = make([][]float32, threads)
	b.tiles = make([][16]float32, threads)
	b.scores = make([][]float32, threads)
	b.kb = make([][]float32, threads)
	b.vb = make([][]float32, threads)
	b.qt = make([][]float32, threads)
	for i := range b.results {
		// A cache line each (64-byte allocations are 64-byte aligned): four floats apiece, allocated one
		// after another, shared one line, and every row's results then crossed between the cores.
		b.results[i] = make([]float32, 4, 16)
	}
	return b, nil
}

// Name is "cpu".
func (b *Backend) Name() string { return "cpu" }

// Kernels names the kernel set (generic, avx2, avx512, avx512-vnni or avx512-amx).
func (b *Backend) Kernels() string { return b.k.Name() }

// Threads is the number of workers.
func (b *Backend) Threads() int { return b.threads }

// Close stops the workers and frees the resident copy.
func (b *Backend) Close() error {
	b.pool.close()
	return b.resident.Close()
}

// matrix is a weight used in place: rows of cols values in their stored type.
type matrix struct {
	src      backend.MatrixSource
	rowBytes int
	data     []byte
	repacked bool // rows rearranged by kernels.RepackRow (resident matrices only)
	panels   bool // Q4_0 or Q8_0 rows packed in panels by kernels.PackPanelFor (resident matrices only)
	kpanels  bool // Q4_K rows packed in panels by kernels.PackKPanel (resident matrices only)
}

func (w *matrix) Name() string      { return w.src.Name }
func (w *matrix) Type() tensor.Type { return w.src.Type }
func (w *matrix) Rows() int         { return w.src.Rows }
func (w *matrix) Cols() int         { return w.src.Cols }

// Matrix checks that src's type can be computed on and that its bytes match its shape.
func (b *Backend) Matrix(src backend.MatrixSource) (backend.Matrix, error) {
	if !tensor.CanDequantize(src.Type) {
		return nil, fmt.Errorf("tensor %s: type %s is not supported", src.Name, src.Type)
	}
	rb, err := src.Type.RowBytes(int64(src.Cols))
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", src.Name, err)
	}
	if int64(len(src.Data)) != rb*int64(src.Rows) {
		return nil, fmt.Errorf("tensor %s: %d bytes for %d rows of %d bytes", src.Name, len(src.Data), src.Rows, rb)
	}
	w := &matrix{src: src, rowBytes: int(rb), data: src.Data}
	b.matrices = append(b.matrices, w)
	for len(b.scratch[0]) < src.Cols {
		for i := range b.scratch {
			b.scratch[i] = make([]float32, src.Cols)
		}
	}
	return w, nil
}

// row decodes row r into dst.
func (w *matrix) row(r int, dst []float32) {
	_ = tensor.Dequantize(w.src.Type, w.data[r*w.rowBytes:(r+1)*w.rowBytes], dst)
}

// vector is a host vector.
type vector []float32

func (v vector) Len() int { return len(v) }

// Vector keeps v as it is.
func (b *Backend) Vector(v []float32) (backend.Vector, error) { return vector(v), nil }

// vec is the values of v, or nil for no vector.
func vec(v backend.Vector) []float32 {
	if v == nil {
		return nil
	}
	return v.(vector)
}

// Commit copies the matrices onto huge pages when resident is set (makeResident).
func (b *Backend) Commit(resident bool) error {
	if !resident {
		return nil
	}
	return b.makeResident()
}
