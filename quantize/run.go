package quantize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/atomicfile"
	"github.com/glmtool/glmtool/tensor"
)

// QuantizationVersion is ggml's quantization format version, which llama-quantize records in
// general.quantization_version beside general.file_type.
const QuantizationVersion = 2

// chunkSourceBytes bounds how much of a source tensor is converted at once. Peak memory is about this much
// source (mapped pages released after each chunk) plus the encoded chunk plus per-worker row buffers.
const chunkSourceBytes = 32 << 20

// RunOptions control the execution, not the result: output bytes are the same for any Threads value.
type RunOptions struct {
	Threads  int
	Stats    bool
	Progress func(doneSourceBytes int64) // called from the writer goroutine after each chunk
	// Buffers, when set, lends chunk buffers from one tensor to the next. Fresh 32 MiB buffers per tensor
	// cost more in page faults and zeroing than the quantization of small tensors itself.
	Buffers *Buffers
}

// Buffers is a set of reusable byte buffers for one run (not safe for concurrent runs).
type Buffers struct{ free [][]byte }

// get returns a buffer of length n, reusing a large enough one when there is one.
func (b *Buffers) get(n int64) []byte {
	if b != nil {
		for i, buf := range b.free {
			if int64(cap(buf)) >= n {
				b.free = append(b.free[:i], b.free[i+1:]...)
				return buf[:n]
			}
		}
	}
	return make([]byte, n)
}

// put hands buffers back for the next tensor.
func (b *Buffers) put(bufs ...[]byte) {
	if b != nil {
		b.free = append(b.free, bufs...)
	}
}

// TensorReport describes one written tensor.
type TensorReport struct {
	Decision
	InBytes, OutBytes int64
	RMSE, MaxAbsErr   float64 // only with RunOptions.Stats and a converted tensor
}

// Report summarises a run.
type Report struct {
	Tensors           []TensorReport
	InBytes, OutBytes int64 // tensor data only
	Elements          int64
	Duration          time.Duration
}

// NumLayers reads "<arch>.block_count", or counts blk.N tensors for files without it.
func NumLayers(f *gguf.File) int {
	if name, err := f.Meta.String(arch.KeyArchitecture); err == nil {
		if n, err := f.Meta.Int(arch.KeysFor(name).BlockCount()); err == nil && n > 0 && n < 1<<20 {
			return int(n)
		}
	}
	n := 0
	for _, t := range f.Tensors {
		n = max(n, layerOf(t.Name)+1)
	}
	return n
}

// OutputMetadata copies the input's metadata and then sets the quantization version and file type the way
// llama-quantize does: removed and appended, so that they end the key list.
func OutputMetadata(in *gguf.Metadata, ft tensor.FileType) *gguf.Metadata {
	m := in.Clone()
	m.Delete(arch.KeyQuantizationVersion)
	m.Set(arch.KeyQuantizationVersion, gguf.Uint32(QuantizationVersion))
	m.Delete(arch.KeyFileType)
	m.Set(arch.KeyFileType, gguf.Uint32(uint32(ft)))
	return m
}

// File quantizes in into a new file at outPath, atomically.
func File(ctx context.Context, in *gguf.File, outPath string, opt Options, run RunOptions) (*Report, error) {
	plan, err := Plan(in.Tensors, NumLayers(in), opt)
	if err != nil {
		return nil, fmt.Errorf("quantize %s: %w", in.Path, err)
	}
	start := time.Now()
	rep := &Report{Tensors: make([]TensorReport, len(plan))}
	if run.Buffers == nil {
		run.Buffers = &Buffers{}
	}
	var done int64
	sources := make([]gguf.TensorSource, len(plan))
	for i, d := range plan {
		info, _ := in.Tensor(d.Name)
		rep.Tensors[i] = TensorReport{Decision: d, InBytes: info.Size}
		out, _ := d.To.Bytes(d.Shape)
		rep.Tensors[i].OutBytes = out
		rep.InBytes += info.Size
		rep.OutBytes += out
		rep.Elements += d.Shape.Elements()
		tr := &rep.Tensors[i]
		sources[i] = gguf.TensorSource{Name: d.Name, Type: d.To, Shape: d.Shape, WriteTo: func(w io.Writer) error {
			err := convertTensor(ctx, w, in, info, d, run, tr, func(n int64) {
				done += n
				if run.Progress != nil {
					run.Progress(done)
				}
			})
			in.Release(info)
			return err
		}}
	}
	if err := gguf.WriteFile(ctx, outPath, OutputMetadata(in.Meta, opt.Target.FileType), sources); err != nil {
		return nil, err
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// convertTensor writes one tensor: a plain copy when its type does not change, otherwise re-encoded.
func convertTensor(ctx context.Context, w io.Writer, in *gguf.File, info *gguf.TensorInfo, d Decision, run RunOptions, tr *TensorReport, progress func(int64)) error {
	data := in.Data(info) // copied as is when the type does not change
	if !d.Requantize() {
		for off := 0; off < len(data); off += chunkSourceBytes {
			end := min(len(data), off+chunkSourceBytes)
			if _, err := w.Write(data[off:end]); err != nil {
				return err
			}
			progress(int64(end - off))
		}
		return nil
	}
	inRow, _ := d.From.RowBytes(info.Shape[0])
	src := &fileRows{f: in, info: info, typ: d.From, rowBytes: inRow, buffers: run.Buffers}
	defer func() { run.Buffers.put(src.current.data, src.pending.data) }()
	return Encode(ctx, w, src, info.Shape, d.To, run, tr, progress)
}

// RowSource yields the rows of a tensor as float32. DecodeRow is called from several goroutines at once.
type RowSource interface {
	// DecodeRow writes row i into dst (len(dst) is the row length).
	DecodeRow(i int64, dst []float32) error
	// RowBytes is the source size of one row, for progress reporting and chunk sizing.
	RowBytes() int64
	// Load prepares rows [r0, r0+n), the chunk after the current one. It runs while the current chunk is
	// decoded, so it must not touch what DecodeRow reads.
	Load(r0, n int64)
	// Advance makes the chunk prepared by the last Load current. It is called between chunks, when no
	// DecodeRow or Load is running.
	Advance()
	// Release says rows [r0, r0+n) will not be read again, so their memory can be given back.
	Release(r0, n int64)
}

// fileRows streams a tensor of a GGUF file. Load copies the next chunk into a spare buffer with pread while
// the current one is decoded: one copy, and none of the page-table work a memory map would cost per page.
type fileRows struct {
	f                *gguf.File
	info             *gguf.TensorInfo
	typ              tensor.Type
	rowBytes         int64
	current, pending rowBuffer
	buffers          *Buffers
}

type rowBuffer struct {
	r0   int64
	data []byte
	err  error
}

func (s *fileRows) DecodeRow(i int64, dst []float32) error {
	b := &s.current
	if b.err != nil {
		return b.err
	}
	off := (i - b.r0) * s.rowBytes
	if b.data == nil || off < 0 || off+s.rowBytes > int64(len(b.data)) {
		return fmt.Errorf("tensor %s: row %d was not loaded", s.info.Name, i)
	}
	return tensor.Dequantize(s.typ, b.data[off:off+s.rowBytes], dst)
}
func (s *fileRows) RowBytes() int64 { return s.rowBytes }

func (s *fileRows) Load(r0, n int64) {
	b := &s.pending
	size := n * s.rowBytes
	if int64(cap(b.data)) < size {
		b.data = s.buffers.get(size)
	}
	b.r0, b.data, b.err = r0, b.data[:size], nil
	if err := s.f.ReadRange(s.info, r0*s.rowBytes, b.data); err != nil {
		b.err = fmt.Errorf("read tensor %s: %w", s.info.Name, err)
	}
}

func (s *fileRows) Advance()             { s.current, s.pending = s.pending, s.current }
func (s *fileRows) Release(int64, int64) {}

// Encode converts every row of src to type to and writes them in order. Rows are processed in chunks,
// each split across run.Threads goroutines, so the output is the same for any thread count. With
// run.Stats, tr receives the RMSE and max absolute error of the encoding.
func Encode(ctx context.Context, w io.Writer, src RowSource, shape tensor.Shape, to tensor.Type, run RunOptions, tr *TensorReport, progress func(int64)) error {
	rowLen := shape[0]
	rows := shape.Rows()
	outRow, err := to.RowBytes(rowLen)
	if err != nil {
		return err
	}
	chunkRows := max(1, chunkSourceBytes/max(1, src.RowBytes()))
	threads := max(1, run.Threads)
	outLen := min(rows, chunkRows) * outRow
	workers := make([]worker, threads)
	for i := range workers {
		workers[i].row = make([]float32, rowLen)
		if run.Stats {
			workers[i].back = make([]float32, rowLen)
		}
	}
	// Three stages overlap: the next chunk is mapped while this one is encoded on every thread, and the
	// previous one is written by a goroutine of its own. Two output buffers take turns.
	bufs := [2][]byte{run.Buffers.get(outLen), run.Buffers.get(outLen)}
	defer run.Buffers.put(bufs[0], bufs[1])
	free := make(chan int, 2) // indexes of output buffers not being written
	free <- 0
	free <- 1
	type written struct {
		r0, n int64
		buf   int
		data  []byte
	}
	toWrite := make(chan written, 2)
	writeErr := make(chan error, 1)
	go func() {
		var err error
		for c := range toWrite {
			if err == nil {
				_, err = w.Write(c.data)
				src.Release(c.r0, c.n)
				progress(c.n * src.RowBytes())
			}
			free <- c.buf
		}
		writeErr <- err
	}()
	finish := func(err error) error {
		close(toWrite)
		if werr := <-writeErr; err == nil {
			err = werr
		}
		return err
	}
	src.Load(0, min(chunkRows, rows))
	for r0 := int64(0); r0 < rows; r0 += chunkRows {
		if err := ctx.Err(); err != nil {
			return finish(err)
		}
		n := min(chunkRows, rows-r0)
		src.Advance()
		buf := <-free
		dst := bufs[buf][:n*outRow]
		var wg sync.WaitGroup
		if next := r0 + n; next < rows {
			wg.Add(1)
			go func() { defer wg.Done(); src.Load(next, min(chunkRows, rows-next)) }()
		}
		// Rows are handed out in small blocks, so a thread slowed by the writer or the loader simply takes
		// fewer of them and nobody waits at the end of the chunk.
		errs := make([]error, threads)
		var next atomic.Int64
		const block = 8
		for t := range threads {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					a := next.Add(block) - block
					if a >= n || errs[t] != nil {
						return
					}
					b := min(n, a+block)
					errs[t] = workers[t].rows(src, to, r0+a, r0+b, dst[a*outRow:b*outRow], outRow)
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return finish(err)
		}
		toWrite <- written{r0: r0, n: n, buf: buf, data: dst}
	}
	if err := finish(nil); err != nil {
		return err
	}
	if run.Stats && tr != nil {
		var sq float64
		for _, wk := range workers {
			sq += wk.sumSq
			tr.MaxAbsErr = math.Max(tr.MaxAbsErr, wk.maxAbs)
		}
		tr.RMSE = math.Sqrt(sq / float64(shape.Elements()))
	}
	return nil
}

// worker holds one goroutine's row buffers and error statistics.
type worker struct {
	row, back     []float32
	sumSq, maxAbs float64
}

func (wk *worker) rows(src RowSource, to tensor.Type, r0, r1 int64, dst []byte, outRow int64) error {
	for r := r0; r < r1; r++ {
		o := dst[(r-r0)*outRow : (r-r0+1)*outRow]
		if err := src.DecodeRow(r, wk.row); err != nil {
			return err
		}
		if err := tensor.Quantize(to, wk.row, o); err != nil {
			return err
		}
		if wk.back != nil {
			if err := tensor.Dequantize(to, o, wk.back); err != nil {
				return err
			}
			for j, v := range wk.row {
				e := math.Abs(float64(wk.back[j]) - float64(v))
				wk.sumSq += e * e
				wk.maxAbs = math.Max(wk.maxAbs, e)
			}
		}
	}
	return nil
}

// Check verifies, before any work is done, that in and out are different files.
func Check(inPath, outPath string) error {
	same, err := atomicfile.SameFile(inPath, outPath)
	if err != nil {
		return err
	}
	if same {
		return fmt.Errorf("output %s is the input file; choose another output path", outPath)
	}
	return nil
}
