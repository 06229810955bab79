package convert

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math"
	"math/big"
	"path"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"

	"github.com/glmtool/glmtool/internal/mmap"
)

// storageType is what the pickle's torch.XxxStorage globals resolve to.
type storageType struct{ dtype DType }

// storageRef is a persistent-id storage: a zip entry holding raw little-endian elements.
type storageRef struct {
	dtype DType
	key   string
	numel int64
}

// lazyTensor is what _rebuild_tensor_v2 produces: a view of a storage.
type lazyTensor struct {
	storage storageRef
	offset  int64
	shape   []int64
}

// rebuildTensor implements torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, ...)
// for contiguous tensors, without reading any data.
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d arguments, want at least 4", len(args))
	}
	st, ok := args[0].(storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument is %T, not a storage", args[0])
	}
	off, err := pyInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 storage offset: %w", err)
	}
	shape, err := pyInts(args[2])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 size: %w", err)
	}
	stride, err := pyInts(args[3])
	if err != nil {
		return nil, fmt.Errorf("_rebuild_tensor_v2 stride: %w", err)
	}
	if len(stride) != len(shape) {
		return nil, fmt.Errorf("_rebuild_tensor_v2: %d strides for %d dimensions", len(stride), len(shape))
	}
	want := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		if shape[i] < 0 || shape[i] > 1<<31 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: dimension %d is %d", i, shape[i])
		}
		if shape[i] > 1 && stride[i] != want {
			return nil, fmt.Errorf("tensor of shape %v has strides %v: only contiguous tensors are supported", shape, stride)
		}
		if shape[i] > 0 && want > math.MaxInt64/shape[i] {
			return nil, fmt.Errorf("_rebuild_tensor_v2: shape %v has more than 2^63 elements", shape)
		}
		want *= shape[i]
	}
	if off < 0 || off > st.numel || want > st.numel-off {
		return nil, fmt.Errorf("tensor of %d elements at offset %d does not fit its storage of %d", want, off, st.numel)
	}
	return lazyTensor{storage: st, offset: off, shape: shape}, nil
}

// rebuildParameter implements torch._utils._rebuild_parameter(data, requires_grad, backward_hooks).
type rebuildParameter struct{}

func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_rebuild_parameter: no arguments")
	}
	return args[0], nil
}

func pyInt(x any) (int64, error) {
	switch v := x.(type) {
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), nil
		}
	}
	return 0, fmt.Errorf("want an integer, got %T", x)
}

func pyInts(x any) ([]int64, error) {
	t, ok := x.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("want a tuple, got %T", x)
	}
	out := make([]int64, t.Len())
	for i := range out {
		v, err := pyInt(t.Get(i))
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// readTorchZip reads a torch.save zip archive: the pickle through the restricted unpickler, the tensors
// as zero-copy views of their stored (uncompressed) zip entries.
func readTorchZip(name string, m *mmap.Map) (tensors []*SourceTensor, err error) {
	zr, err := zip.NewReader(bytes.NewReader(m.Data), int64(len(m.Data)))
	if err != nil {
		return nil, fmt.Errorf("not a PyTorch zip checkpoint: %w", err)
	}
	var pkl *zip.File
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		entries[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && pkl == nil {
			pkl = f
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("no data.pkl in the archive (legacy non-zip torch checkpoints are not supported)")
	}
	prefix := strings.TrimSuffix(pkl.Name, "data.pkl")
	if pkl.UncompressedSize64 > maxPickleBytes {
		return nil, fmt.Errorf("data.pkl of %d bytes is too large", pkl.UncompressedSize64)
	}
	rc, err := pkl.Open()
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(rc, maxPickleBytes+1))
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	clean, err := sanitizePickle(raw, pickleOpBudget(len(zr.File)))
	if err != nil {
		return nil, err
	}
	root, err := unpickle(clean)
	if err != nil {
		return nil, fmt.Errorf("data.pkl: %w", err)
	}
	dict, ok := root.(*types.OrderedDict)
	if !ok {
		return nil, fmt.Errorf("data.pkl holds %T, not a state dict", root)
	}
	for el := dict.List.Front(); el != nil; el = el.Next() {
		k := el.Value.(*types.OrderedDictEntry)
		key, ok := k.Key.(string)
		if !ok {
			return nil, fmt.Errorf("state dict key (%s) is not a string", describe(k.Key))
		}
		lt, ok := k.Value.(lazyTensor)
		if !ok {
			continue // non-tensor entries (e.g. _metadata) carry no weights
		}
		entry := entries[prefix+"data/"+lt.storage.key]
		if entry == nil {
			return nil, fmt.Errorf("tensor %q: storage data/%s is missing from the archive", key, lt.storage.key)
		}
		if entry.Method != zip.Store {
			return nil, fmt.Errorf("tensor %q: storage data/%s is compressed; torch.save writes stored entries", key, lt.storage.key)
		}
		off, err := entry.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		size := int64(entry.UncompressedSize64)
		el := lt.storage.dtype.Size()
		if off < 0 || size < 0 || off > int64(len(m.Data)) || size > int64(len(m.Data))-off || lt.storage.numel > size/el {
			return nil, fmt.Errorf("tensor %q: storage data/%s (%d bytes at %d) is truncated or does not hold %d elements", key, lt.storage.key, size, off, lt.storage.numel)
		}
		n := int64(1)
		for _, d := range lt.shape {
			n *= d
		}
		start := off + lt.offset*el
		end := start + n*el
		tensors = append(tensors, &SourceTensor{Name: key, DType: lt.storage.dtype, Shape: lt.shape, Shard: name,
			data: m.Data[start:end:end], m: m, base: start})
	}
	return tensors, nil
}

// unpickle runs gopickle on a sanitized stream. gopickle is third-party code: a panic on input it did not
// expect becomes an error rather than a crash.
func unpickle(data []byte) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed pickle: %v", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = func(module, name string) (any, error) {
		full := module + "." + name
		if !allowedGlobals[full] {
			return nil, fmt.Errorf("forbidden global %s: only torch tensor rebuild functions and storages may appear in a checkpoint", full)
		}
		switch full {
		case "torch._utils._rebuild_tensor_v2":
			return rebuildTensor{}, nil
		case "torch._utils._rebuild_parameter":
			return rebuildParameter{}, nil
		case "torch.HalfStorage":
			return storageType{F16}, nil
		case "torch.BFloat16Storage":
			return storageType{BF16}, nil
		case "torch.FloatStorage":
			return storageType{F32}, nil
		case "torch.CharStorage":
			return storageType{I8}, nil
		}
		return nil, fmt.Errorf("global %s cannot be used here", full)
	}
	u.PersistentLoad = func(pid any) (any, error) {
		t, ok := pid.(*types.Tuple)
		if !ok || t.Len() < 5 {
			return nil, fmt.Errorf("persistent id (%s) is not a storage tuple", describe(pid))
		}
		if s, _ := t.Get(0).(string); s != "storage" {
			return nil, fmt.Errorf("persistent id kind (%s) is not \"storage\"", describe(t.Get(0)))
		}
		st, ok := t.Get(1).(storageType)
		if !ok {
			return nil, fmt.Errorf("storage type (%s) is not supported", describe(t.Get(1)))
		}
		key, ok := t.Get(2).(string)
		if !ok || strings.Contains(key, "/") || key == "" {
			return nil, fmt.Errorf("storage key (%s) is not a plain name", describe(t.Get(2)))
		}
		numel, err := pyInt(t.Get(4))
		if err != nil || numel < 0 {
			return nil, fmt.Errorf("storage element count (%s): %v", describe(t.Get(4)), err)
		}
		return storageRef{dtype: st.dtype, key: key, numel: numel}, nil
	}
	return u.Load()
}

// describe names an unpickled value for an error message without printing it: pickles can build
// self-referencing containers, whose String methods would recurse forever.
func describe(x any) string {
	switch v := x.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("%q", v)
	case int, int64, bool, float64:
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%T", x)
}
