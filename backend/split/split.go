// Package split runs a model across two backends in one process: the first N blocks on a device backend
// (a GPU) and the rest, with the embedding and output layers, on the host backend (the CPU), as
// llama.cpp's --n-gpu-layers. A model that does not fit in GPU memory still has its first layers there.
//
// Each activation buffer exists on both backends; an operation runs where its weights are (a matrix
// product), where its KV cache layer is (attention), or else where its first input is, and an input that
// is only valid on the other backend is copied over first (at most twice per token: up after the
// embedding, down before the host's first layer).
package split

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/glmtool/glmtool/backend"
)

// Device is what a device backend's streams offer beyond backend.Stream: setting a buffer from host rows,
// and waiting for the queued work with its first failure (what Host reports, without a copy).
type Device interface {
	Upload(dst backend.Acts, rows [][]float32) error
	Sync() error
}

// Backend is the pair.
type Backend struct {
	host, dev backend.Backend
	devLayers int
}

var _ backend.Backend = (*Backend)(nil)

// New runs blocks [0, devLayers) on dev and everything else on host. dev's streams must be Devices.
func New(host, dev backend.Backend, devLayers int) (*Backend, error) {
	if _, ok := dev.NewStream().(Device); !ok {
		return nil, fmt.Errorf("backend %s cannot take activations from the host", dev.Name())
	}
	if devLayers < 0 {
		return nil, fmt.Errorf("%d device layers", devLayers)
	}
	return &Backend{host: host, dev: dev, devLayers: devLayers}, nil
}

// Name is "DEV+HOST", as "cuda+cpu".
func (b *Backend) Name() string { return b.dev.Name() + "+" + b.host.Name() }

// Threads is the host's.
func (b *Backend) Threads() int { return b.host.Threads() }

// DeviceMemory is the device backend's, where it reports one.
func (b *Backend) DeviceMemory() backend.VRAM {
	if dm, ok := b.dev.(backend.DeviceMemory); ok {
		return dm.DeviceMemory()
	}
	return backend.VRAM{}
}

var _ backend.DeviceMemory = (*Backend)(nil)

// onDevice reports whether a tensor name belongs to a block run on the device ("blk.N.…", adapters of
// those included).
func (b *Backend) onDevice(name string) bool {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return false
	}
	n, _, _ := strings.Cut(rest, ".")
	l, err := strconv.Atoi(n)
	return err == nil && l < b.devLayers
}

// matrix is a weight on one of the two backends.
type matrix struct {
	backend.Matrix
	dev bool
}

// Matrix places src by its block.
func (b *Backend) Matrix(src backend.MatrixSource) (backend.Matrix, error) {
	dev := b.onDevice(src.Name)
	be := b.host
	if dev {
		be = b.dev
	}
	m, err := be.Matrix(src)
	if err != nil {
		return nil, err
	}
	return &matrix{Matrix: m, dev: dev}, nil
}

// vector is a norm weight or bias held by both backends (they are small).
type vector struct{ h, d backend.Vector }

func (v *vector) Len() int { return v.h.Len() }

// Vector copies v to both backends.
func (b *Backend) Vector(v []float32) (backend.Vector, error) {
	h, err := b.host.Vector(v)
	if err != nil {
		return nil, err
	}
	d, err := b.dev.Vector(v)
	if err != nil {
		return nil, err
	}
	return &vector{h: h, d: d}, nil
}

func (v *vector) on(dev bool) backend.Vector {
	if v == nil {
		return nil
	}
	if dev {
		return v.d
	}
	return v.h
}

func vec(v backend.Vector, dev bool) backend.Vector {
	if v == nil {
		return nil
	}
	return v.(*vector).on(dev)
}

// Commit commits both.
func (b *Backend) Commit(resident bool) error {
	return errors.Join(b.host.Commit(resident), b.dev.Commit(resident))
}

// Close closes both.
func (b *Backend) Close() error { return errors.Join(b.dev.Close(), b.host.Close()) }

// kvCache keeps the device's layers on the device and the rest on the host.
type kvCache struct {
	h, d      backend.KVCache // d is nil when no block runs on the device
	devLayers int
}

func (c *kvCache) Slots() int { return c.h.Slots() }

// layer returns the cache holding layer l, its index there, and whether it is the device's.
func (c *kvCache) layer(l int) (backend.KVCache, int, bool) {
	if l < c.devLayers {
		return c.d, l, true
	}
	return c.h, l - c.devLayers, false
}

// Free frees both halves.
func (c *kvCache) Free() {
	c.h.Free()
	if c.d != nil {
		c.d.Free()
	}
}

func (c *kvCache) Store(l, slot int, k, v []float32) {
	kc, i, _ := c.layer(l)
	kc.Store(i, slot, k, v)
}

// NewKV splits the layers between the two backends.
func (b *Backend) NewKV(layers, slots, width int, typ backend.KVType) (backend.KVCache, error) {
	dl := min(b.devLayers, layers)
	c := &kvCache{devLayers: dl}
	var err error
	// The host cache has at least one layer so that Slots always answers.
	if c.h, err = b.host.NewKV(max(layers-dl, 1), slots, width, typ); err != nil {
		return nil, err
	}
	if dl > 0 {
		if c.d, err = b.dev.NewKV(dl, slots, width, typ); err != nil {
			return nil, err
		}
	}
	return c, nil
}
