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

// convertTensor writes one tensor: a plain copy when its type does not change, otherwise row chunks
// converted in parallel and written in order.
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
	rowLen := info.Shape[0]
	rows := info.Shape.Rows()
	inRow, _ := d.From.RowBytes(rowLen)
	outRow, _ := d.To.RowBytes(rowLen)
	chunkRows := max(1, chunkSourceBytes/inRow)
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
		src := data[r0*inRow : (r0+n)*inRow]
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
				errs[t] = workers[t].rows(d, src[a*inRow:b*inRow], dst[a*outRow:b*outRow], inRow, outRow)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := w.Write(dst); err != nil {
			return err
		}
		in.ReleaseRange(info, r0*inRow, n*inRow)
		progress(int64(len(src)))
	}
	if run.Stats {
		var sq float64
		for _, wk := range workers {
			sq += wk.sumSq
			tr.MaxAbsErr = math.Max(tr.MaxAbsErr, wk.maxAbs)
		}
		tr.RMSE = math.Sqrt(sq / float64(info.Shape.Elements()))
	}
	return nil
}

// worker holds one goroutine's row buffers and error statistics.
type worker struct {
	row, back     []float32
	sumSq, maxAbs float64
}

func (wk *worker) rows(d Decision, src, dst []byte, inRow, outRow int64) error {
	for i := int64(0); i*inRow < int64(len(src)); i++ {
		s := src[i*inRow : (i+1)*inRow]
		o := dst[i*outRow : (i+1)*outRow]
		if err := tensor.Dequantize(d.From, s, wk.row); err != nil {
			return err
		}
		if err := tensor.Quantize(d.To, wk.row, o); err != nil {
			return err
		}
		if wk.back != nil {
			if err := tensor.Dequantize(d.To, o, wk.back); err != nil {
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
