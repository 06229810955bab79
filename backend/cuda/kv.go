package cuda

import (
	"fmt"
	"unsafe"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cuda/driver"
	"github.com/glmtool/glmtool/tensor"
)

// kvCache is, per layer, slots × width keys and as many values in device memory, F16 or F32.
type kvCache struct {
	b                    *Backend
	layers, slots, width int
	f16                  bool
	k, v                 driver.Ptr
}

// NewKV allocates a cache on the device. The quantized cache types are the CPU backend's.
func (b *Backend) NewKV(layers, slots, width int, typ backend.KVType) (backend.KVCache, error) {
	if layers <= 0 || slots <= 0 || width <= 0 {
		return nil, fmt.Errorf("KV cache of %d layers, %d slots and width %d", layers, slots, width)
	}
	if typ != backend.KVF16 && typ != backend.KVF32 {
		return nil, fmt.Errorf("--kv-type %s: the CUDA backend keeps its KV cache in f16 or f32", typ)
	}
	c := &kvCache{b: b, layers: layers, slots: slots, width: width, f16: typ == backend.KVF16}
	n := int64(layers) * int64(slots) * int64(width) * c.elem()
	if err := b.d.Enter(b.ctx); err != nil {
		return nil, err
	}
	defer b.d.Leave()
	var err error
	what := fmt.Sprintf("a KV cache of %d positions", slots)
	if c.k, err = b.alloc(n, &b.mem.KV, what); err != nil {
		return nil, err
	}
	if c.v, err = b.alloc(n, &b.mem.KV, what); err != nil {
		b.free(c.k, &b.mem.KV)
		return nil, err
	}
	return c, nil
}

func (c *kvCache) elem() int64 {
	if c.f16 {
		return 2
	}
	return 4
}

func (c *kvCache) Slots() int { return c.slots }

// Free frees the cache's device memory.
func (c *kvCache) Free() {
	b := c.b
	if c.k == 0 || b.d == nil || b.d.Enter(b.ctx) != nil {
		return
	}
	defer b.d.Leave()
	b.free(c.k, &b.mem.KV)
	b.free(c.v, &b.mem.KV)
	c.k, c.v = 0, 0
}

// layer returns the device addresses of layer l's keys and values.
func (c *kvCache) layer(l int) (k, v driver.Ptr) {
	off := driver.Ptr(int64(l) * int64(c.slots) * int64(c.width) * c.elem())
	return c.k + off, c.v + off
}

// Store copies one slot's key and value from the host (a P-Tuning prefix), converted to the cache's type.
func (c *kvCache) Store(l, slot int, k, v []float32) {
	b := c.b
	if err := b.d.Enter(b.ctx); err != nil {
		b.fail(err)
		return
	}
	defer b.d.Leave()
	kp, vp := c.layer(l)
	off := driver.Ptr(int64(slot) * int64(c.width) * c.elem())
	for _, x := range []struct {
		dst driver.Ptr
		src []float32
	}{{kp + off, k[:c.width]}, {vp + off, v[:c.width]}} {
		if c.f16 {
			h := make([]uint16, len(x.src))
			for i, f := range x.src {
				h[i] = tensor.F32ToF16(f)
			}
			b.fail(b.d.CopyToDevice(x.dst, unsafe.Pointer(&h[0]), int64(2*len(h))))
			continue
		}
		b.fail(b.d.CopyToDevice(x.dst, unsafe.Pointer(&x.src[0]), int64(4*len(x.src))))
	}
}
