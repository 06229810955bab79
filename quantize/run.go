package quantize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/atomicfile"
	"github.com/glmtool/glmtool/tensor"
)

// KeyQuantizationVersion and KeyFileType are the two keys llama-quantize sets; ggml's quantization format
// version is 2.
const (
	KeyQuantizationVersion = "general.quantization_version"
	KeyFileType            = "general.file_type"
	QuantizationVersion    = 2
)

// chunkSourceBytes bounds how much of a source tensor is converted at once. Peak memory is about this much
// source (mapped pages released after each chunk) plus the encoded chunk plus per-worker row buffers.
const chunkSourceBytes = 32 << 20

// RunOptions control the execution, not the result: output bytes are the same for any Threads value.
type RunOptions struct {
	Threads  int
	Stats    bool
	Progress func(doneSourceBytes int64) // called from the writer goroutine after each chunk
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
	if arch, err := f.Meta.String("general.architecture"); err == nil {
		if n, err := f.Meta.Int(arch + ".block_count"); err == nil && n > 0 && n < 1<<20 {
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
	m.Delete(KeyQuantizationVersion)
	m.Set(KeyQuantizationVersion, gguf.Uint32(QuantizationVersion))
	m.Delete(KeyFileType)
	m.Set(KeyFileType, gguf.Uint32(uint32(ft)))
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
	data := in.Data(info)
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
	src := &fileRows{f: in, info: info, data: data, typ: d.From, rowBytes: inRow}
	return Encode(ctx, w, src, info.Shape, d.To, run, tr, progress)
}

// RowSource yields the rows of a tensor as float32. DecodeRow is called from several goroutines at once.
type RowSource interface {
	// DecodeRow writes row i into dst (len(dst) is the row length).
	DecodeRow(i int64, dst []float32) error
	// RowBytes is the source size of one row, for progress reporting and chunk sizing.
	RowBytes() int64
	// Release says rows [r0, r0+n) will not be read again, so their memory can be given back.
	Release(r0, n int64)
}

type fileRows struct {
	f        *gguf.File
	info     *gguf.TensorInfo
	data     []byte
	typ      tensor.Type
	rowBytes int64
}

func (s *fileRows) DecodeRow(i int64, dst []float32) error {
	return tensor.Dequantize(s.typ, s.data[i*s.rowBytes:(i+1)*s.rowBytes], dst)
}
func (s *fileRows) RowBytes() int64     { return s.rowBytes }
func (s *fileRows) Release(r0, n int64) { s.f.ReleaseRange(s.info, r0*s.rowBytes, n*s.rowBytes) }

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
	out := make([]byte, min(rows, chunkRows)*outRow)
	workers := make([]worker, threads)
	for i := range workers {
		workers[i].row = make([]float32, rowLen)
		if run.Stats {
			workers[i].back = make([]float32, rowLen)
		}
	}
	for r0 := int64(0); r0 < rows; r0 += chunkRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunkRows, rows-r0)
		dst := out[:n*outRow]
		var wg sync.WaitGroup
		errs := make([]error, threads)
		per := (n + int64(threads) - 1) / int64(threads)
		for t := range threads {
			a, b := int64(t)*per, min(n, int64(t+1)*per)
			if a >= b {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[t] = workers[t].rows(src, to, r0+a, r0+b, dst[a*outRow:b*outRow], outRow)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := w.Write(dst); err != nil {
			return err
		}
		src.Release(r0, n)
		progress(n * src.RowBytes())
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
