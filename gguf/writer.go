package gguf

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/glmtool/glmtool/internal/atomicfile"
	"github.com/glmtool/glmtool/tensor"
)

// Version is the GGUF version the writer produces.
const Version = 3

// TensorSource is one tensor to write: its header fields and a producer that writes exactly its bytes.
// Producers run one at a time, in order, so only one tensor needs to be in memory at once.
type TensorSource struct {
	Name    string
	Type    tensor.Type
	Shape   tensor.Shape
	WriteTo func(w io.Writer) error
}

// Bytes is the size of the tensor's data.
func (t TensorSource) Bytes() (int64, error) { return t.Type.Bytes(t.Shape) }

// Layout computes where each tensor's data go, as llama.cpp requires: in info order, each starting at the
// padded end of the previous one. It also validates names, shapes and the alignment key.
func Layout(meta *Metadata, tensors []TensorSource) (alignment uint64, offsets []uint64, err error) {
	alignment = DefaultAlignment
	if v, ok := meta.Get(KeyAlignment); ok {
		a, isU32 := v.v.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return 0, nil, fmt.Errorf("%s must be a uint32 power of two, got %s %v", KeyAlignment, v.TypeName(), v.v)
		}
		alignment = uint64(a)
	}
	seen := make(map[string]bool, len(tensors))
	offsets = make([]uint64, len(tensors))
	var off uint64
	for i, t := range tensors {
		if len(t.Name) > MaxNameLen {
			return 0, nil, fmt.Errorf("tensor name %q is longer than %d bytes", t.Name, MaxNameLen)
		}
		if seen[t.Name] {
			return 0, nil, fmt.Errorf("duplicate tensor name %q", t.Name)
		}
		seen[t.Name] = true
		n, err := t.Bytes()
		if err != nil {
			return 0, nil, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		offsets[i] = off
		off += padTo(uint64(n), alignment)
	}
	return alignment, offsets, nil
}

// Write streams a GGUF v3 file: header, metadata, tensor infos, then each tensor's data padded to the
// alignment. It stops with ctx.Err() between tensors once ctx is cancelled.
func Write(ctx context.Context, w io.Writer, meta *Metadata, tensors []TensorSource) error {
	alignment, offsets, err := Layout(meta, tensors)
	if err != nil {
		return err
	}
	cw := &countingWriter{w: w}
	e := &encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(meta.Len()))
	for _, kv := range meta.KVs() {
		e.str(kv.Key)
		e.value(kv.Value)
	}
	for i, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(uint64(d))
		}
		e.u32(uint32(t.Type))
		e.u64(offsets[i])
	}
	if e.err != nil {
		return e.err
	}
	if err := pad(cw, alignment); err != nil {
		return err
	}
	for _, t := range tensors {
		if err := ctx.Err(); err != nil {
			return err
		}
		want, _ := t.Bytes()
		start := cw.n
		if err := t.WriteTo(cw); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
		if got := cw.n - start; got != want {
			return fmt.Errorf("tensor %q: producer wrote %d bytes, want %d", t.Name, got, want)
		}
		if err := pad(cw, alignment); err != nil {
			return err
		}
	}
	return nil
}

// WriteFile writes a GGUF file atomically (see package atomicfile).
func WriteFile(ctx context.Context, path string, meta *Metadata, tensors []TensorSource) error {
	if _, _, err := Layout(meta, tensors); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return atomicfile.Write(ctx, path, func(w io.Writer) error {
		if err := Write(ctx, w, meta, tensors); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

// Sources returns producers that copy every tensor of f unchanged, in file order.
func (f *File) Sources() []TensorSource {
	out := make([]TensorSource, len(f.Tensors))
	for i := range f.Tensors {
		t := &f.Tensors[i]
		out[i] = TensorSource{Name: t.Name, Type: t.Type, Shape: t.Shape, WriteTo: func(w io.Writer) error {
			_, err := w.Write(f.Data(t))
			return err
		}}
	}
	return out
}

var zeros [256]byte

func pad(cw *countingWriter, alignment uint64) error {
	n := padTo(uint64(cw.n), alignment) - uint64(cw.n)
	for n > 0 {
		k := min(n, uint64(len(zeros)))
		if _, err := cw.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian values and keeps the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u8(v uint8)   { e.buf[0] = v; e.raw(e.buf[:1]) }
func (e *encoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.raw(e.buf[:2]) }
func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.raw(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }
func (e *encoder) str(s string) { e.u64(uint64(len(s))); e.raw([]byte(s)) }

func (e *encoder) value(v Value) {
	e.u32(uint32(v.typ))
	if v.typ == TypeArray {
		e.u32(uint32(v.elem))
		e.u64(uint64(v.Len()))
		for i := range v.Len() {
			e.scalar(elemAt(v, i))
		}
		return
	}
	e.scalar(v.v)
}

func (e *encoder) scalar(x any) {
	switch x := x.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	default:
		if e.err == nil {
			e.err = fmt.Errorf("gguf: cannot encode %T", x)
		}
	}
}
