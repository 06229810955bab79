package convert

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/glmtool/glmtool/internal/jsonerr"
	"github.com/glmtool/glmtool/internal/mmap"
	"github.com/glmtool/glmtool/tensor"
)

// DType is the element type of a checkpoint tensor.
type DType int

// The checkpoint element types glmtool reads.
const (
	F32 DType = iota
	F16
	BF16
	I8 // THUDM's int8/int4 checkpoints (with a …weight_scale tensor)
)

var dtypeNames = [...]string{"F32", "F16", "BF16", "I8"}
var dtypeSizes = [...]int64{4, 2, 2, 1}

func (d DType) String() string { return dtypeNames[d] }

// storedAs is the GGUF type with the same byte encoding, or an unknown type for I8.
func (d DType) storedAs() tensor.Type {
	switch d {
	case F32:
		return tensor.F32
	case F16:
		return tensor.F16
	case BF16:
		return tensor.BF16
	}
	return tensor.Type(1 << 30)
}

// Size is the byte size of one element.
func (d DType) Size() int64 { return dtypeSizes[d] }

// SourceTensor is one tensor of a checkpoint, its data a zero-copy slice of a mapped shard.
type SourceTensor struct {
	Name  string
	DType DType
	Shape []int64 // PyTorch order: the last dimension is contiguous
	Shard string  // file name, for messages
	data  []byte
	m     *mmap.Map
	base  int64 // offset of data within m
}

// Elements is the element count.
func (t *SourceTensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes returns the raw little-endian data.
func (t *SourceTensor) Bytes() []byte { return t.data }

// Release gives the pages of bytes [off, off+n) of the tensor back to the kernel.
func (t *SourceTensor) Release(off, n int64) { t.m.Release(t.base+off, n) }

// DecodeRange converts elements [start, start+len(dst)) to float32.
func (t *SourceTensor) DecodeRange(start int64, dst []float32) {
	b := t.data[start*t.DType.Size():]
	switch t.DType {
	case F32:
		_ = tensor.Dequantize(tensor.F32, b[:4*len(dst)], dst)
	case F16:
		_ = tensor.Dequantize(tensor.F16, b[:2*len(dst)], dst)
	case BF16:
		_ = tensor.Dequantize(tensor.BF16, b[:2*len(dst)], dst)
	case I8:
		for i := range dst {
			dst[i] = float32(int8(b[i]))
		}
	}
}

// Weights is the set of tensors of a model folder, across all its shards.
type Weights struct {
	Dir     string
	Format  string // "safetensors" or "pytorch"
	tensors map[string]*SourceTensor
	maps    []*mmap.Map
}

// Tensor returns the tensor called name.
func (c *Weights) Tensor(name string) (*SourceTensor, bool) {
	t, ok := c.tensors[name]
	return t, ok
}

// Names lists every tensor name, sorted.
func (c *Weights) Names() []string {
	names := make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Close unmaps every shard.
func (c *Weights) Close() error {
	var errs []error
	for _, m := range c.maps {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// weightIndex is model.safetensors.index.json / pytorch_model.bin.index.json.
type weightIndex struct {
	WeightMap map[string]string `json:"weight_map"`
}

// maxIndexBytes bounds the index json read into memory (the real ones are ~30 kB).
const maxIndexBytes = 64 << 20

// OpenWeights finds and maps the weights of dir: through an index json when there is one, else a single
// model.safetensors or pytorch_model.bin.
func OpenWeights(dir string) (*Weights, error) {
	c := &Weights{Dir: dir, tensors: map[string]*SourceTensor{}}
	type layout struct{ index, single, format string }
	for _, l := range []layout{
		{"model.safetensors.index.json", "model.safetensors", "safetensors"},
		{"pytorch_model.bin.index.json", "pytorch_model.bin", "pytorch"},
	} {
		indexPath := filepath.Join(dir, l.index)
		if _, err := os.Stat(indexPath); err == nil {
			c.Format = l.format
			return c, c.loadIndexed(indexPath)
		}
		if _, err := os.Stat(filepath.Join(dir, l.single)); err == nil {
			c.Format = l.format
			if err := c.loadShard(l.single); err != nil {
				_ = c.Close()
				return nil, err
			}
			return c, nil
		}
	}
	return nil, fmt.Errorf("%s: no weights found (want model.safetensors, pytorch_model.bin, or their .index.json with shards)", dir)
}

func (c *Weights) loadIndexed(indexPath string) error {
	st, err := os.Stat(indexPath)
	if err != nil {
		return err
	}
	if st.Size() > maxIndexBytes {
		return fmt.Errorf("%s: %d bytes is too large for a weight index", indexPath, st.Size())
	}
	raw, err := os.ReadFile(indexPath)
	if err != nil {
		return err
	}
	var idx weightIndex
	if err := json.Unmarshal(raw, &idx); err != nil {
		return fmt.Errorf("%s: %s", indexPath, jsonerr.Describe(err))
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("%s: weight_map is empty", indexPath)
	}
	shards := map[string]bool{}
	for _, shard := range idx.WeightMap {
		if filepath.Base(shard) != shard {
			return fmt.Errorf("%s: shard name %q is not a plain file name", indexPath, shard)
		}
		shards[shard] = true
	}
	names := make([]string, 0, len(shards))
	for s := range shards {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		if _, err := os.Stat(filepath.Join(c.Dir, s)); err != nil {
			_ = c.Close()
			return fmt.Errorf("%s names shard %s, which is missing: %w", filepath.Base(indexPath), s, err)
		}
		if err := c.loadShard(s); err != nil {
			_ = c.Close()
			return err
		}
	}
	for name, shard := range idx.WeightMap {
		t, ok := c.tensors[name]
		if !ok || t.Shard != shard {
			_ = c.Close()
			return fmt.Errorf("%s says tensor %q is in %s, but that shard does not hold it", filepath.Base(indexPath), name, shard)
		}
	}
	return nil
}

func (c *Weights) loadShard(name string) error {
	path := filepath.Join(c.Dir, name)
	m, err := mmap.Open(path)
	if err != nil {
		return err
	}
	c.maps = append(c.maps, m)
	var tensors []*SourceTensor
	if filepath.Ext(name) == ".safetensors" {
		tensors, err = readSafetensors(name, m)
	} else {
		tensors, err = readTorchZip(name, m)
	}
	if err != nil {
		return fmt.Errorf("shard %s: %w", name, err)
	}
	for _, t := range tensors {
		if prev, dup := c.tensors[t.Name]; dup {
			return fmt.Errorf("tensor %q is in both %s and %s", t.Name, prev.Shard, name)
		}
		c.tensors[t.Name] = t
	}
	return nil
}

// le16 reads a little-endian uint16 (used by the pickle scanner and tests).
func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

// Load maps bytes [off, off+n) of the tensor in one step.
func (t *SourceTensor) Load(off, n int64) { t.m.Load(t.base+off, n) }

// ReadAt copies bytes [off, off+len(p)) of the tensor from its shard with pread.
func (t *SourceTensor) ReadAt(p []byte, off int64) error {
	_, err := t.m.ReadAt(p, t.base+off)
	return err
}
