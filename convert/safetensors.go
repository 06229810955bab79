package convert

import (
	"fmt"
	"math"
	"sort"

	"github.com/nlpodyssey/safetensors"

	"github.com/glmtool/glmtool/internal/mmap"
)

// readSafetensors lists the tensors of a mapped .safetensors shard. The library validates the header (size
// limit, contiguous offsets, byte counts against shapes, total length) before anything is trusted.
func readSafetensors(name string, m *mmap.Map) ([]*SourceTensor, error) {
	n, meta, err := safetensors.ReadMetadata(m.Data)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	dataStart := int64(n) + 8
	infos := meta.Tensors()
	names := make([]string, 0, len(infos))
	for k := range infos {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]*SourceTensor, 0, len(names))
	for _, tn := range names {
		info := infos[tn]
		var dt DType
		switch info.DType {
		case safetensors.F32:
			dt = F32
		case safetensors.F16:
			dt = F16
		case safetensors.BF16:
			dt = BF16
		case safetensors.I8:
			dt = I8
		default:
			return nil, fmt.Errorf("tensor %q: dtype %s is not supported (want F32, F16, BF16 or I8)", tn, info.DType)
		}
		shape := make([]int64, len(info.Shape))
		for i, d := range info.Shape {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %q: dimension %d is too large", tn, d)
			}
			shape[i] = int64(d)
		}
		start, end := dataStart+int64(info.DataOffsets[0]), dataStart+int64(info.DataOffsets[1])
		out = append(out, &SourceTensor{Name: tn, DType: dt, Shape: shape, Shard: name, data: m.Data[start:end:end], m: m, base: start})
	}
	return out, nil
}
