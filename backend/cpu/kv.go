package cpu

import (
	"fmt"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/tensor"
)

// kvCache is a per-layer array of slots × width keys and values, in F32 or F16.
type kvCache struct {
	slots, width int
	typ          backend.KVType
	k, v         [][]float32 // per layer [slots*width] (F32 cache)
	kh, vh       [][]uint16  // per layer (F16 cache)
}

// NewKV allocates a cache.
func (b *Backend) NewKV(layers, slots, width int, typ backend.KVType) (backend.KVCache, error) {
	if layers <= 0 || slots <= 0 || width <= 0 {
		return nil, fmt.Errorf("KV cache of %d layers, %d slots and width %d", layers, slots, width)
	}
	c := &kvCache{slots: slots, width: width, typ: typ}
	for range layers {
		if typ == backend.KVF32 {
			c.k = append(c.k, make([]float32, slots*width))
			c.v = append(c.v, make([]float32, slots*width))
		} else {
			c.kh = append(c.kh, make([]uint16, slots*width))
			c.vh = append(c.vh, make([]uint16, slots*width))
		}
	}
	return c, nil
}

func (c *kvCache) Slots() int { return c.slots }

// Store writes slot pos of layer l.
func (c *kvCache) Store(l, pos int, k, v []float32) {
	if c.typ == backend.KVF32 {
		copy(c.k[l][pos*c.width:], k)
		copy(c.v[l][pos*c.width:], v)
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
	return c.read(c.k, c.kh, l, pos, g, hd, dst)
}

func (c *kvCache) value(l, pos, g, hd int, dst []float32) []float32 {
	return c.read(c.v, c.vh, l, pos, g, hd, dst)
}

func (c *kvCache) read(f32 [][]float32, f16 [][]uint16, l, pos, g, hd int, dst []float32) []float32 {
	off := pos*c.width + g*hd
	if c.typ == backend.KVF32 {
		return f32[l][off : off+hd]
	}
	tensor.F16ToF32s(f16[l][off:off+hd], dst[:hd])
	return dst[:hd]
}
