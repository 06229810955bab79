package cpu

import (
	"fmt"
	"unsafe"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/tensor"
)

// kvCache is a per-layer array of slots × width keys and values: F32, F16, or rows of Q8_0/Q4_0 blocks.
type kvCache struct {
	slots, width int
	typ          backend.KVType
	k, v         [][]float32 // per layer [slots*width] (F32 cache)
	kh, vh       [][]uint16  // per layer (F16 cache)
	khBytes      [][]byte    // kh's bytes, for the F16 row kernels
	kq, vq       [][]byte    // per layer [slots*rowBytes] (quantized cache)
	qtype        tensor.Type // Q8_0 or Q4_0 for a quantized cache
	rowBytes     int         // bytes of one quantized row of width values
	blockBytes   int
}

// NewKV allocates a cache.
func (b *Backend) NewKV(layers, slots, width int, typ backend.KVType) (backend.KVCache, error) {
	if layers <= 0 || slots <= 0 || width <= 0 {
		return nil, fmt.Errorf("KV cache of %d layers, %d slots and width %d", layers, slots, width)
	}
	c := &kvCache{slots: slots, width: width, typ: typ}
	switch typ {
	case backend.KVQ8_0, backend.KVQ4_0:
		c.qtype = tensor.Q8_0
		if typ == backend.KVQ4_0 {
			c.qtype = tensor.Q4_0
		}
		if width%32 != 0 {
			return nil, fmt.Errorf("a %s KV cache needs rows of a multiple of 32 values (this model's are %d)", typ, width)
		}
		rb, _ := c.qtype.RowBytes(int64(width))
		bb, _ := c.qtype.RowBytes(32)
		c.rowBytes, c.blockBytes = int(rb), int(bb)
	}
	for range layers {
		switch typ {
		case backend.KVF32:
			c.k = append(c.k, make([]float32, slots*width))
			c.v = append(c.v, make([]float32, slots*width))
		case backend.KVQ8_0, backend.KVQ4_0:
			c.kq = append(c.kq, make([]byte, slots*c.rowBytes))
			c.vq = append(c.vq, make([]byte, slots*c.rowBytes))
		default:
			kh := make([]uint16, slots*width)
			c.kh = append(c.kh, kh)
			c.khBytes = append(c.khBytes, unsafe.Slice((*byte)(unsafe.Pointer(&kh[0])), 2*len(kh)))
			c.vh = append(c.vh, make([]uint16, slots*width))
		}
	}
	return c, nil
}

func (c *kvCache) Slots() int { return c.slots }

// Free drops the cache's slices (the garbage collector frees host memory; this only lets it sooner).
func (c *kvCache) Free() {
	c.k, c.v, c.kh, c.vh, c.khBytes, c.kq, c.vq = nil, nil, nil, nil, nil, nil, nil
}

// Store writes slot pos of layer l.
func (c *kvCache) Store(l, pos int, k, v []float32) {
	switch c.typ {
	case backend.KVF32:
		copy(c.k[l][pos*c.width:], k)
		copy(c.v[l][pos*c.width:], v)
		return
	case backend.KVQ8_0, backend.KVQ4_0:
		// Cannot fail: the width is a multiple of 32 (NewKV).
		_ = tensor.Quantize(c.qtype, k[:c.width], c.kq[l][pos*c.rowBytes:(pos+1)*c.rowBytes])
		_ = tensor.Quantize(c.qtype, v[:c.width], c.vq[l][pos*c.rowBytes:(pos+1)*c.rowBytes])
		return
	}
	kd, vd := c.kh[l][pos*c.width:(pos+1)*c.width], c.vh[l][pos*c.width:(pos+1)*c.width]
	for i := range k {
		kd[i] = tensor.F32ToF16(k[i])
		vd[i] = tensor.F32ToF16(v[i])
	}
}

// key and value return slot pos of KV head g (hd wide) of layer l: the cache itself for an F32 cache,
// else decoded into dst.
func (c *kvCache) key(l, pos, g, hd int, dst []float32) []float32 {
	return c.read(c.k, c.kh, c.kq, l, pos, g, hd, dst)
}

func (c *kvCache) value(l, pos, g, hd int, dst []float32) []float32 {
	return c.read(c.v, c.vh, c.vq, l, pos, g, hd, dst)
}

func (c *kvCache) read(f32 [][]float32, f16 [][]uint16, q [][]byte, l, pos, g, hd int, dst []float32) []float32 {
	off := pos*c.width + g*hd
	switch c.typ {
	case backend.KVF32:
		return f32[l][off : off+hd]
	case backend.KVQ8_0, backend.KVQ4_0:
		// Heads are whole blocks: the attention checks hd % 32 == 0 for a quantized cache.
		start := pos*c.rowBytes + g*hd/32*c.blockBytes
		_ = tensor.Dequantize(c.qtype, q[l][start:start+hd/32*c.blockBytes], dst[:hd])
		return dst[:hd]
	}
	tensor.F16ToF32s(f16[l][off:off+hd], dst[:hd])
	return dst[:hd]
}
