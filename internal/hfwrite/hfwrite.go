// Package hfwrite writes checkpoints in the Hugging Face layout (safetensors and torch.save zip .bin
// shards with an index json) of any shape. Tests use it to build damaged and synthetic checkpoints, and the
// conversion memory benchmark uses it to write a full-size one: tensor data are streamed from generators,
// never held in memory.
package hfwrite

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Tensor is one checkpoint tensor. Fill writes exactly Bytes() bytes of little-endian data.
type Tensor struct {
	Name  string
	DType string  // "F32", "F16", "BF16" or "I8"
	Shape []int64 // PyTorch order
	Fill  func(w io.Writer) error
}

var dtypeSize = map[string]int64{"F32": 4, "F16": 2, "BF16": 2, "I8": 1}

var torchStorage = map[string]string{"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage", "I8": "CharStorage"}

// Elements is the element count.
func (t Tensor) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Bytes is the data size.
func (t Tensor) Bytes() int64 { return t.Elements() * dtypeSize[t.DType] }

// Data returns a Fill that writes b.
func Data(b []byte) func(io.Writer) error {
	return func(w io.Writer) error { _, err := w.Write(b); return err }
}

// WriteSafetensors writes one .safetensors file: 8-byte header length, JSON header padded with spaces to a
// multiple of 8, then the tensors in header order.
func WriteSafetensors(path string, tensors []Tensor) error {
	sorted := append([]Tensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var hdr bytes.Buffer
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int64
	for _, t := range sorted {
		shape, _ := json.Marshal(t.Shape)
		fmt.Fprintf(&hdr, `,%q:{"dtype":%q,"shape":%s,"data_offsets":[%d,%d]}`, t.Name, t.DType, shape, off, off+t.Bytes())
		off += t.Bytes()
	}
	hdr.WriteString("}")
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_ = binary.Write(w, binary.LittleEndian, uint64(hdr.Len()))
	w.Write(hdr.Bytes())
	for _, t := range sorted {
		cw := &countWriter{w: w}
		if err := t.Fill(cw); err != nil {
			f.Close()
			return err
		}
		if cw.n != t.Bytes() {
			f.Close()
			return fmt.Errorf("%s: Fill wrote %d bytes, want %d", t.Name, cw.n, t.Bytes())
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// TorchOptions change how a .bin shard is written, to build damaged files in tests.
type TorchOptions struct {
	// Pickle, when set, replaces the generated data.pkl.
	Pickle []byte
	// DeflatePickle compresses data.pkl (torch stores it; a hostile file deflates a huge pickle to a few KB).
	DeflatePickle bool
}

// StatePickle builds the protocol-2 pickle torch.save writes for a state dict of tensors, each with its
// own storage data/<i>.
func StatePickle(tensors []Tensor) []byte {
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		_ = binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	num := func(n int64) { p.WriteByte('J'); _ = binary.Write(&p, binary.LittleEndian, int32(n)) }
	p.WriteString("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(")
	for i, t := range tensors {
		str(t.Name)
		p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		p.WriteString("(")
		str("storage")
		p.WriteString("ctorch\n" + torchStorage[t.DType] + "\n")
		str(fmt.Sprint(i))
		str("cpu")
		num(t.Elements())
		p.WriteString("tQ")
		num(0)
		p.WriteString("(")
		for _, d := range t.Shape {
			num(d)
		}
		p.WriteString("t(")
		stride := int64(1)
		strides := make([]int64, len(t.Shape))
		for k := len(t.Shape) - 1; k >= 0; k-- {
			strides[k] = stride
			stride *= t.Shape[k]
		}
		for _, s := range strides {
			num(s)
		}
		p.WriteString("t\x89ccollections\nOrderedDict\n)RtR")
	}
	p.WriteString("u.")
	return p.Bytes()
}

// WriteTorchBin writes one torch.save zip archive: <prefix>/data.pkl, <prefix>/data/<i>, <prefix>/version,
// all stored uncompressed as torch does.
func WriteTorchBin(path string, tensors []Tensor, opt TorchOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	prefix := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + "/"
	pkl := opt.Pickle
	if pkl == nil {
		pkl = StatePickle(tensors)
	}
	put := func(name string, fill func(io.Writer) error) error {
		method := zip.Store
		if name == "data.pkl" && opt.DeflatePickle {
			method = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + name, Method: method})
		if err != nil {
			return err
		}
		return fill(w)
	}
	if err := put("data.pkl", Data(pkl)); err != nil {
		f.Close()
		return err
	}
	for i, t := range tensors {
		if err := put(fmt.Sprintf("data/%d", i), t.Fill); err != nil {
			f.Close()
			return err
		}
	}
	if err := put("version", Data([]byte("3\n"))); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSharded splits tensors over n shards in order and writes them with an index json, as
// save_pretrained does: format "safetensors" (model-0000K-of-0000N.safetensors) or "pytorch"
// (pytorch_model-0000K-of-0000N.bin).
func WriteSharded(dir, format string, tensors []Tensor, n int) error {
	weightMap := map[string]string{}
	var total int64
	per := (len(tensors) + n - 1) / n
	for s := range n {
		lo, hi := s*per, min(len(tensors), (s+1)*per)
		var name string
		var err error
		if format == "safetensors" {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, n)
			err = WriteSafetensors(filepath.Join(dir, name), tensors[lo:hi])
		} else {
			name = fmt.Sprintf("pytorch_model-%05d-of-%05d.bin", s+1, n)
			err = WriteTorchBin(filepath.Join(dir, name), tensors[lo:hi], TorchOptions{})
		}
		if err != nil {
			return err
		}
		for _, t := range tensors[lo:hi] {
			weightMap[t.Name] = name
			total += t.Bytes()
		}
	}
	index := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
	raw, err := json.MarshalIndent(index, "", "  ")
	if err != nil {
		return err
	}
	indexName := "model.safetensors.index.json"
	if format != "safetensors" {
		indexName = "pytorch_model.bin.index.json"
	}
	return os.WriteFile(filepath.Join(dir, indexName), raw, 0o644)
}
