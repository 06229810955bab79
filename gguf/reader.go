package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/glmtool/glmtool/internal/mmap"
	"github.com/glmtool/glmtool/tensor"
)

// Magic is the four bytes every GGUF file starts with.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxNameLen is the longest tensor name ggml accepts (GGML_MAX_NAME - 1).
const MaxNameLen = 63

// KeyAlignment is the metadata key that sets the data alignment.
const KeyAlignment = "general.alignment"

// Minimum on-disk sizes, used to check claimed counts against the bytes that remain before allocating.
const (
	minKVSize         = 8 + 4 + 1         // key length, value type, one byte of value
	minTensorInfoSize = 8 + 4 + 8 + 4 + 8 // name length, n_dims, one dimension, type, offset
)

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name   string
	Type   tensor.Type
	Shape  tensor.Shape // ggml ne order
	Offset uint64       // from the start of the data section
	Size   int64        // bytes
}

// File is an open GGUF file. Its tensor data are slices of a read-only memory map that stays valid until
// Close.
type File struct {
	Path       string
	Version    uint32
	Alignment  uint64
	DataOffset int64 // absolute offset of the tensor data section
	FileSize   int64
	Meta       *Metadata
	Tensors    []TensorInfo

	tensorIndex map[string]int
	data        []byte
	mapping     *mmap.Map // nil for files parsed from memory
}

// FormatError reports a damaged or unsupported file: which file, where, and which field.
type FormatError struct {
	Path   string
	Offset int64
	Field  string
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf %s: offset %d: %s: %s", e.Path, e.Offset, e.Field, e.Msg)
}

// Open maps path read-only and parses it. Nothing of the tensor data is read until it is touched.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if n := len(m.Data); n < 24 {
		_ = m.Close() // after reading the size: Close clears Data
		return nil, &FormatError{Path: path, Field: "header", Msg: fmt.Sprintf("file is %d bytes, too short for a GGUF header (24 bytes)", n)}
	}
	f, err := Parse(path, m.Data)
	if err != nil {
		_ = m.Close()
		return nil, err
	}
	f.mapping = m
	return f, nil
}

// Close releases the memory map. Tensor data slices must not be used afterwards.
func (f *File) Close() error {
	err := f.mapping.Close()
	f.mapping = nil
	return err
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// Data returns the bytes of t as a zero-copy slice of the file.
func (f *File) Data(t *TensorInfo) []byte {
	start := f.DataOffset + int64(t.Offset)
	return f.data[start : start+t.Size : start+t.Size]
}

// Bytes returns the whole mapped file.
func (f *File) Bytes() []byte { return f.data }

// ParameterCount is the number of elements over all tensors.
func (f *File) ParameterCount() int64 {
	var n int64
	for i := range f.Tensors {
		n += f.Tensors[i].Shape.Elements()
	}
	return n
}

// TensorBytes is the total size of the tensor data, without padding.
func (f *File) TensorBytes() int64 {
	var n int64
	for i := range f.Tensors {
		n += f.Tensors[i].Size
	}
	return n
}

// decoder walks the header with every read bounds-checked against the data.
type decoder struct {
	path string
	data []byte
	off  int64
}

func (d *decoder) errAt(off int64, field, format string, args ...any) error {
	return &FormatError{Path: d.path, Offset: off, Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() uint64 { return uint64(int64(len(d.data)) - d.off) }

func (d *decoder) take(n uint64, field string) ([]byte, error) {
	if n > d.remaining() {
		return nil, d.errAt(d.off, field, "needs %d bytes, only %d left in the file", n, d.remaining())
	}
	b := d.data[d.off : d.off+int64(n)]
	d.off += int64(n)
	return b, nil
}

func (d *decoder) u32(field string) (uint32, error) {
	b, err := d.take(4, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (d *decoder) u64(field string) (uint64, error) {
	b, err := d.take(8, field)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (d *decoder) str(field string) (string, error) {
	start := d.off
	n, err := d.u64(field + " length")
	if err != nil {
		return "", err
	}
	if n > d.remaining() {
		return "", d.errAt(start, field, "string length %d exceeds the %d bytes left in the file", n, d.remaining())
	}
	b, _ := d.take(n, field)
	return string(b), nil
}

// Parse reads a GGUF file held in data. name is used in errors. Tensor data stay slices of data.
func Parse(name string, data []byte) (*File, error) {
	d := &decoder{path: name, data: data}
	f := &File{Path: name, FileSize: int64(len(data)), data: data}

	magic, err := d.take(4, "magic")
	if err != nil {
		return nil, err
	}
	if string(magic) != Magic {
		return nil, d.errAt(0, "magic", "got %q, want %q: not a GGUF file", magic, Magic)
	}
	if f.Version, err = d.u32("version"); err != nil {
		return nil, err
	}
	switch f.Version {
	case 2, 3:
	case 1:
		return nil, d.errAt(4, "version", "GGUF v1 is not supported (32-bit counts); re-convert the model")
	default:
		return nil, d.errAt(4, "version", "unsupported version %d (want 2 or 3)", f.Version)
	}
	nTensors, err := d.u64("n_tensors")
	if err != nil {
		return nil, err
	}
	nKV, err := d.u64("n_kv")
	if err != nil {
		return nil, err
	}
	if nKV > d.remaining()/minKVSize {
		return nil, d.errAt(16, "n_kv", "claims %d key/value pairs, but only %d bytes follow", nKV, d.remaining())
	}
	if nTensors > (d.remaining()-nKV*minKVSize)/minTensorInfoSize {
		return nil, d.errAt(8, "n_tensors", "claims %d tensors, but only %d bytes follow", nTensors, d.remaining())
	}

	f.Meta = &Metadata{index: make(map[string]int, min(nKV, 4096))}
	for i := range nKV {
		kvOff := d.off
		key, err := d.str(fmt.Sprintf("kv[%d] key", i))
		if err != nil {
			return nil, err
		}
		if f.Meta.Has(key) {
			return nil, d.errAt(kvOff, fmt.Sprintf("kv[%d] key", i), "duplicate key %q", key)
		}
		v, err := d.value(fmt.Sprintf("kv[%d] %q", i, key))
		if err != nil {
			return nil, err
		}
		f.Meta.Set(key, v)
	}

	f.Alignment = DefaultAlignment
	if v, ok := f.Meta.Get(KeyAlignment); ok {
		a, isU32 := v.v.(uint32)
		if !isU32 {
			return nil, d.errAt(24, KeyAlignment, "want uint32, got %s", v.TypeName())
		}
		if a == 0 || a&(a-1) != 0 {
			return nil, d.errAt(24, KeyAlignment, "%d is not a power of two", a)
		}
		f.Alignment = uint64(a)
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, 4096))
	f.tensorIndex = make(map[string]int, min(nTensors, 4096))
	for i := range nTensors {
		infoOff := d.off
		t, err := d.tensorInfo(i, f.Alignment)
		if err != nil {
			return nil, err
		}
		if _, dup := f.tensorIndex[t.Name]; dup {
			return nil, d.errAt(infoOff, fmt.Sprintf("tensor[%d] name", i), "duplicate tensor name %q", t.Name)
		}
		f.tensorIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}

	dataStart := padTo(uint64(d.off), f.Alignment)
	if len(f.Tensors) == 0 {
		f.DataOffset = int64(min(dataStart, uint64(len(data))))
		return f, nil
	}
	if dataStart > uint64(len(data)) {
		return nil, d.errAt(d.off, "data section", "starts at %d, past the end of the %d-byte file", dataStart, len(data))
	}
	f.DataOffset = int64(dataStart)
	if err := f.checkTensorPlacement(); err != nil {
		return nil, err
	}
	return f, nil
}

func padTo(n, align uint64) uint64 { return (n + align - 1) / align * align }

// checkTensorPlacement verifies that every tensor lies inside the file and that no two overlap.
func (f *File) checkTensorPlacement() error {
	avail := uint64(f.FileSize - f.DataOffset)
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
		t := &f.Tensors[i]
		if t.Offset > avail || uint64(t.Size) > avail-t.Offset {
			return &FormatError{Path: f.Path, Offset: f.DataOffset + int64(min(t.Offset, avail)), Field: fmt.Sprintf("tensor %q", t.Name),
				Msg: fmt.Sprintf("data [%d, %d) runs past the end of the file (data section holds %d bytes)", t.Offset, t.Offset+uint64(t.Size), avail)}
		}
	}
	sort.Slice(order, func(a, b int) bool { return f.Tensors[order[a]].Offset < f.Tensors[order[b]].Offset })
	for k := 1; k < len(order); k++ {
		prev, cur := &f.Tensors[order[k-1]], &f.Tensors[order[k]]
		if cur.Offset < prev.Offset+uint64(prev.Size) {
			return &FormatError{Path: f.Path, Offset: f.DataOffset + int64(cur.Offset), Field: fmt.Sprintf("tensor %q", cur.Name),
				Msg: fmt.Sprintf("data at %d overlaps tensor %q [%d, %d)", cur.Offset, prev.Name, prev.Offset, prev.Offset+uint64(prev.Size))}
		}
	}
	return nil
}

func (d *decoder) tensorInfo(i uint64, alignment uint64) (TensorInfo, error) {
	field := fmt.Sprintf("tensor[%d]", i)
	start := d.off
	name, err := d.str(field + " name")
	if err != nil {
		return TensorInfo{}, err
	}
	if len(name) > MaxNameLen {
		return TensorInfo{}, d.errAt(start, field+" name", "name of %d bytes is longer than %d: %.70q...", len(name), MaxNameLen, name)
	}
	field = fmt.Sprintf("tensor[%d] %q", i, name)
	dimsOff := d.off
	nDims, err := d.u32(field + " n_dims")
	if err != nil {
		return TensorInfo{}, err
	}
	if nDims < 1 || nDims > tensor.MaxDims {
		return TensorInfo{}, d.errAt(dimsOff, field+" n_dims", "%d, want 1 to %d", nDims, tensor.MaxDims)
	}
	shape := make(tensor.Shape, nDims)
	for j := range shape {
		v, err := d.u64(field + " ne")
		if err != nil {
			return TensorInfo{}, err
		}
		shape[j] = int64(v)
	}
	if err := shape.Validate(); err != nil {
		return TensorInfo{}, d.errAt(dimsOff, field+" ne", "%v", err)
	}
	typeOff := d.off
	rawType, err := d.u32(field + " type")
	if err != nil {
		return TensorInfo{}, err
	}
	typ := tensor.Type(rawType)
	if !typ.Known() {
		return TensorInfo{}, d.errAt(typeOff, field+" type", "unknown ggml type %d", rawType)
	}
	size, err := typ.Bytes(shape)
	if err != nil {
		return TensorInfo{}, d.errAt(dimsOff, field+" ne", "%v", err)
	}
	offOff := d.off
	offset, err := d.u64(field + " offset")
	if err != nil {
		return TensorInfo{}, err
	}
	if offset%alignment != 0 {
		return TensorInfo{}, d.errAt(offOff, field+" offset", "%d is not a multiple of the alignment %d", offset, alignment)
	}
	return TensorInfo{Name: name, Type: typ, Shape: shape, Offset: offset, Size: size}, nil
}

func (d *decoder) value(field string) (Value, error) {
	typeOff := d.off
	raw, err := d.u32(field + " type")
	if err != nil {
		return Value{}, err
	}
	t := ValueType(raw)
	if !t.known() {
		return Value{}, d.errAt(typeOff, field+" type", "unknown value type %d", raw)
	}
	if t != TypeArray {
		return d.scalar(t, field)
	}
	elemRaw, err := d.u32(field + " array type")
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(elemRaw)
	if !elem.known() {
		return Value{}, d.errAt(typeOff+4, field+" array type", "unknown element type %d", elemRaw)
	}
	if elem == TypeArray {
		return Value{}, d.errAt(typeOff+4, field+" array type", "nested arrays are not allowed")
	}
	countOff := d.off
	n, err := d.u64(field + " array length")
	if err != nil {
		return Value{}, err
	}
	minElem := uint64(valueTypeSizes[elem])
	if elem == TypeString {
		minElem = 8
	}
	if n > d.remaining()/minElem {
		return Value{}, d.errAt(countOff, field+" array length", "claims %d elements of %s, but only %d bytes are left", n, elem, d.remaining())
	}
	return d.array(elem, int(n), field)
}

func (d *decoder) scalar(t ValueType, field string) (Value, error) {
	if t == TypeString {
		s, err := d.str(field)
		return String(s), err
	}
	off := d.off
	b, err := d.take(uint64(valueTypeSizes[t]), field)
	if err != nil {
		return Value{}, err
	}
	switch t {
	case TypeUint8:
		return Uint8(b[0]), nil
	case TypeInt8:
		return Int8(int8(b[0])), nil
	case TypeUint16:
		return Uint16(binary.LittleEndian.Uint16(b)), nil
	case TypeInt16:
		return Int16(int16(binary.LittleEndian.Uint16(b))), nil
	case TypeUint32:
		return Uint32(binary.LittleEndian.Uint32(b)), nil
	case TypeInt32:
		return Int32(int32(binary.LittleEndian.Uint32(b))), nil
	case TypeFloat32:
		return Float32(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
	case TypeBool:
		if b[0] > 1 {
			return Value{}, d.errAt(off, field, "bool byte is %d, want 0 or 1", b[0])
		}
		return Bool(b[0] == 1), nil
	case TypeUint64:
		return Uint64(binary.LittleEndian.Uint64(b)), nil
	case TypeInt64:
		return Int64(int64(binary.LittleEndian.Uint64(b))), nil
	case TypeFloat64:
		return Float64(math.Float64frombits(binary.LittleEndian.Uint64(b))), nil
	}
	return Value{}, errors.New("unreachable")
}

// array decodes n elements; the caller has checked that n elements can fit in the remaining bytes.
func (d *decoder) array(elem ValueType, n int, field string) (Value, error) {
	if elem == TypeString {
		out := make([]string, n)
		for i := range out {
			s, err := d.str(fmt.Sprintf("%s[%d]", field, i))
			if err != nil {
				return Value{}, err
			}
			out[i] = s
		}
		return Array(out), nil
	}
	start := d.off
	b, err := d.take(uint64(n*valueTypeSizes[elem]), field)
	if err != nil {
		return Value{}, err
	}
	le := binary.LittleEndian
	switch elem {
	case TypeUint8:
		return Array(append([]uint8(nil), b...)), nil
	case TypeInt8:
		return Array(decodeSlice(b, 1, func(p []byte) int8 { return int8(p[0]) })), nil
	case TypeUint16:
		return Array(decodeSlice(b, 2, le.Uint16)), nil
	case TypeInt16:
		return Array(decodeSlice(b, 2, func(p []byte) int16 { return int16(le.Uint16(p)) })), nil
	case TypeUint32:
		return Array(decodeSlice(b, 4, le.Uint32)), nil
	case TypeInt32:
		return Array(decodeSlice(b, 4, func(p []byte) int32 { return int32(le.Uint32(p)) })), nil
	case TypeFloat32:
		return Array(decodeSlice(b, 4, func(p []byte) float32 { return math.Float32frombits(le.Uint32(p)) })), nil
	case TypeBool:
		out := make([]bool, n)
		for i, c := range b {
			if c > 1 {
				return Value{}, d.errAt(start+int64(i), fmt.Sprintf("%s[%d]", field, i), "bool byte is %d, want 0 or 1", c)
			}
			out[i] = c == 1
		}
		return Array(out), nil
	case TypeUint64:
		return Array(decodeSlice(b, 8, le.Uint64)), nil
	case TypeInt64:
		return Array(decodeSlice(b, 8, func(p []byte) int64 { return int64(le.Uint64(p)) })), nil
	case TypeFloat64:
		return Array(decodeSlice(b, 8, func(p []byte) float64 { return math.Float64frombits(le.Uint64(p)) })), nil
	}
	return Value{}, errors.New("unreachable")
}

func decodeSlice[T any](b []byte, size int, conv func([]byte) T) []T {
	out := make([]T, len(b)/size)
	for i := range out {
		out[i] = conv(b[i*size:])
	}
	return out
}

// Release tells the kernel that t's data are no longer needed, so that their pages stop counting towards
// this process's memory (they stay in the page cache). Reading t again afterwards is still valid.
func (f *File) Release(t *TensorInfo) { f.ReleaseRange(t, 0, t.Size) }

// ReleaseRange is Release for the bytes [off, off+n) of t.
func (f *File) ReleaseRange(t *TensorInfo, off, n int64) {
	f.mapping.Release(f.DataOffset+int64(t.Offset)+off, n)
}

// LoadRange maps the bytes [off, off+n) of t in one step (see mmap.Map.Load).
func (f *File) LoadRange(t *TensorInfo, off, n int64) {
	f.mapping.Load(f.DataOffset+int64(t.Offset)+off, n)
}

// ReadRange copies the bytes [off, off+len(p)) of t into p.
func (f *File) ReadRange(t *TensorInfo, off int64, p []byte) error {
	if f.mapping == nil {
		copy(p, f.Data(t)[off:])
		return nil
	}
	_, err := f.mapping.ReadAt(p, f.DataOffset+int64(t.Offset)+off)
	return err
}
