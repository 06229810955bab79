// Package cuda is the CUDA backend: weights kept in their GGUF types in device memory, activations and
// the KV cache (F16 or F32) on the device between operations, and one kernel launch per operation of
// backend.Stream. The driver is loaded at run time (driver, through purego), and the kernels are the PTX
// embedded by kernels, so a binary built with CGO_ENABLED=0 and no CUDA toolkit runs on any machine with
// an NVIDIA driver and refuses cleanly on one without. Without a GPU, the whole backend runs in tests
// against a CPU build of the driver API and the same kernel sources (shim).
package cuda

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cuda/driver"
	"github.com/glmtool/glmtool/backend/cuda/kernels"
	"github.com/glmtool/glmtool/tensor"
)

// Options choose the driver library and the device.
type Options struct {
	// Library is the driver library to load; empty: the system's libcuda (driver.LibraryNames). Tests
	// name the CPU shim here.
	Library string
	// Device is the CUDA device ordinal.
	Device int
	// FloatActivations keeps activations in float32 for every matrix product, instead of quantizing them
	// to 8 bits for the dp4a products of Q4_0 and Q8_0 weights (kernels/mmvq.cu); for comparisons.
	FloatActivations bool
}

// Backend computes on one CUDA device.
type Backend struct {
	d    *driver.Driver
	dev  driver.Device
	info driver.DeviceInfo
	ctx  driver.Context
	mods []driver.Module
	fns  map[string]driver.Function

	floatActs bool
	allocs    map[driver.Ptr]int64 // every live allocation and its size
	mem       backend.VRAM         // the totals and snapshots; Free and Total are read when asked
	err       error                // the first failure since the last Host (operations return nothing)
}

var _ backend.Backend = (*Backend)(nil)

// ErrNoDevice is wrapped by New's error when there is no usable driver or GPU.
var ErrNoDevice = errors.New("no usable CUDA device")

// New opens the driver, device opt.Device and its primary context, and loads the kernels.
func New(opt Options) (*Backend, error) {
	var names []string
	if opt.Library != "" {
		names = []string{opt.Library}
	}
	d, err := driver.Open(names...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	n, err := d.DeviceCount()
	if err == nil && n <= opt.Device {
		err = fmt.Errorf("%d CUDA devices, no device %d", n, opt.Device)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	b := &Backend{d: d, fns: map[string]driver.Function{}, allocs: map[driver.Ptr]int64{}, floatActs: opt.FloatActivations}
	if b.dev, b.info, err = d.Device(opt.Device); err == nil {
		b.ctx, err = d.PrimaryContext(b.dev)
	}
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	if err := b.loadKernels(); err != nil {
		b.Close()
		return nil, err
	}
	if b.mem.FreeAtStart, _, err = b.memInfo(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// loadKernels loads every embedded PTX module and looks up each kernel the sources define.
func (b *Backend) loadKernels() error {
	if err := b.d.Enter(b.ctx); err != nil {
		return err
	}
	defer b.d.Leave()
	ptx := kernels.PTX()
	for _, s := range kernels.Sources() {
		img, ok := ptx[s.Name]
		if !ok {
			return fmt.Errorf("CUDA kernels: no PTX embedded for %s (run go generate ./backend/cuda/kernels)", s.Name)
		}
		m, err := b.d.LoadPTX(s.Name, img)
		if err != nil {
			var de *driver.Error
			if errors.As(err, &de) && (de.Result == driver.ErrorUnsupported || de.Result == driver.ErrorInvalidPTX) {
				v, _ := b.d.Version()
				return fmt.Errorf("the NVIDIA driver (CUDA %s) cannot load glmtool's kernels (PTX for %s, built with CUDA 11.8): update the driver: %w", v, kernels.Arch, err)
			}
			return err
		}
		b.mods = append(b.mods, m)
		for _, e := range kernels.Entries(s) {
			f, err := b.d.Function(m, e)
			if err != nil {
				return fmt.Errorf("CUDA kernels: %w", err)
			}
			b.fns[e] = f
		}
	}
	return nil
}

// Name is "cuda".
func (b *Backend) Name() string { return "cuda" }

// Threads is 1: the host thread that queues the kernels.
func (b *Backend) Threads() int { return 1 }

// Device describes the GPU: its name, compute capability and the driver's CUDA version.
func (b *Backend) Device() string {
	v, _ := b.d.Version()
	return fmt.Sprintf("%s (compute %d.%d, %d SMs, driver CUDA %s)", b.info.Name, b.info.Major, b.info.Minor, b.info.Multiprocessors, v)
}

// DeviceMemory is backend.DeviceMemory: the backend's allocations and the device's memory now.
func (b *Backend) DeviceMemory() backend.VRAM {
	m := b.mem
	m.Held = m.Weights + m.KV + m.Scratch
	m.Free, m.Total, _ = b.memInfo()
	return m
}

var (
	_ backend.DeviceMemory    = (*Backend)(nil)
	_ backend.BandwidthProber = (*Backend)(nil)
)

// MeasureBandwidth times device-to-device copies of a size-byte buffer (after one untimed copy) and
// returns bytes read and written per second, the GPU's counterpart of bench's CPU streaming probe.
func (b *Backend) MeasureBandwidth(size int64) (float64, error) {
	if err := b.d.Enter(b.ctx); err != nil {
		return 0, err
	}
	defer b.d.Leave()
	// Two buffers of at most a quarter of the free memory each: the probe must not push the model out.
	if free, _, err := b.d.MemInfo(); err == nil && uint64(size) > free/4 {
		size = int64(free / 4)
	}
	if size < 1<<20 {
		return 0, fmt.Errorf("less than 4 MiB of GPU memory free for the bandwidth probe")
	}
	var scratch int64
	src, err := b.alloc(size, &scratch, "the bandwidth probe")
	if err != nil {
		return 0, err
	}
	defer b.free(src, &scratch)
	dst, err := b.alloc(size, &scratch, "the bandwidth probe")
	if err != nil {
		return 0, err
	}
	defer b.free(dst, &scratch)
	const reps = 8
	var start time.Time
	for i := range reps + 1 {
		if i == 1 {
			if err := b.d.Synchronize(); err != nil {
				return 0, err
			}
			start = time.Now()
		}
		if err := b.d.CopyDevice(dst, src, size); err != nil {
			return 0, err
		}
	}
	if err := b.d.Synchronize(); err != nil {
		return 0, err
	}
	return 2 * float64(size) * reps / time.Since(start).Seconds(), nil
}

func (b *Backend) memInfo() (free, total uint64, err error) {
	if err := b.d.Enter(b.ctx); err != nil {
		return 0, 0, err
	}
	defer b.d.Leave()
	return b.d.MemInfo()
}

// Close frees every allocation and module and releases the context and the driver.
func (b *Backend) Close() error {
	if b.d == nil {
		return nil
	}
	var errs []error
	if err := b.d.Enter(b.ctx); err == nil {
		for p := range b.allocs {
			errs = append(errs, b.d.Free(p))
		}
		for _, m := range b.mods {
			errs = append(errs, b.d.Unload(m))
		}
		b.d.Leave()
	}
	errs = append(errs, b.d.ReleasePrimaryContext(b.dev), b.d.Close())
	b.d = nil
	return errors.Join(errs...)
}

// alloc allocates n bytes (at least 1) and counts them in *class. An out-of-memory failure says what was
// asked for and what was free.
func (b *Backend) alloc(n int64, class *int64, what string) (driver.Ptr, error) {
	n = max(n, 1)
	p, err := b.d.Alloc(n)
	if err != nil {
		var de *driver.Error
		if errors.As(err, &de) && de.Result == driver.ErrorOutOfMemory {
			free, total, _ := b.d.MemInfo()
			return 0, fmt.Errorf("out of GPU memory: %s needs %s, %s of %s free on %s (--gpu-layers N keeps the blocks past N on the CPU; a smaller --ctx or quantization needs less): %w",
				what, mib(n), mib(int64(free)), mib(int64(total)), b.info.Name, err)
		}
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	b.allocs[p] = n
	*class += n
	b.mem.Peak = max(b.mem.Peak, b.mem.Weights+b.mem.KV+b.mem.Scratch)
	return p, nil
}

func (b *Backend) free(p driver.Ptr, class *int64) {
	if n, ok := b.allocs[p]; ok {
		b.fail(b.d.Free(p))
		delete(b.allocs, p)
		*class -= n
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// fail records the first error since the last Host.
func (b *Backend) fail(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

// kernelSuffix names a weight type in the kernels' names (matmul_q4_0, embed_bf16, ...).
func kernelSuffix(t tensor.Type) string { return strings.ToLower(t.String()) }

// matrix is a weight matrix in device memory, in its GGUF type.
type matrix struct {
	name           string
	typ            tensor.Type
	rows, cols     int
	rowBytes       int
	p              driver.Ptr
	matmul, embed  driver.Function
	mmName, emName string
	q8Name         string // the product with 8-bit activations, where the type has one (mmvq.cu)
}

func (w *matrix) Name() string      { return w.name }
func (w *matrix) Type() tensor.Type { return w.typ }
func (w *matrix) Rows() int         { return w.rows }
func (w *matrix) Cols() int         { return w.cols }

// Matrix copies src into device memory.
func (b *Backend) Matrix(src backend.MatrixSource) (backend.Matrix, error) {
	suffix := kernelSuffix(src.Type)
	mm, ok1 := b.fns["matmul_"+suffix]
	em, ok2 := b.fns["embed_"+suffix]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("tensor %s: type %s is not supported by the CUDA backend", src.Name, src.Type)
	}
	rb, err := src.Type.RowBytes(int64(src.Cols))
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", src.Name, err)
	}
	if int64(len(src.Data)) != rb*int64(src.Rows) {
		return nil, fmt.Errorf("tensor %s: %d bytes for %d rows of %d bytes", src.Name, len(src.Data), src.Rows, rb)
	}
	if err := b.d.Enter(b.ctx); err != nil {
		return nil, err
	}
	defer b.d.Leave()
	p, err := b.alloc(int64(len(src.Data)), &b.mem.Weights, "tensor "+src.Name)
	if err != nil {
		return nil, err
	}
	if len(src.Data) > 0 {
		if err := b.d.CopyToDevice(p, unsafe.Pointer(&src.Data[0]), int64(len(src.Data))); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", src.Name, err)
		}
	}
	if src.Release != nil {
		src.Release()
	}
	w := &matrix{name: src.Name, typ: src.Type, rows: src.Rows, cols: src.Cols, rowBytes: int(rb), p: p,
		matmul: mm, embed: em, mmName: "matmul_" + suffix, emName: "embed_" + suffix}
	if _, ok := b.fns["matmul_"+suffix+"_q8"]; ok && !b.floatActs {
		w.q8Name = "matmul_" + suffix + "_q8"
	}
	return w, nil
}

// vector is a norm weight or bias in device memory.
type vector struct {
	n int
	p driver.Ptr
}

func (v *vector) Len() int { return v.n }

// Vector copies v into device memory.
func (b *Backend) Vector(v []float32) (backend.Vector, error) {
	if err := b.d.Enter(b.ctx); err != nil {
		return nil, err
	}
	defer b.d.Leave()
	p, err := b.alloc(int64(4*len(v)), &b.mem.Weights, "a vector")
	if err != nil {
		return nil, err
	}
	if len(v) > 0 {
		if err := b.d.CopyToDevice(p, unsafe.Pointer(&v[0]), int64(4*len(v))); err != nil {
			return nil, err
		}
	}
	return &vector{n: len(v), p: p}, nil
}

// Commit waits for the copies: the weights are on the device already.
func (b *Backend) Commit(bool) error {
	if err := b.d.Enter(b.ctx); err != nil {
		return err
	}
	defer b.d.Leave()
	if err := b.d.Synchronize(); err != nil {
		return err
	}
	free, _, err := b.d.MemInfo()
	b.mem.FreeLoaded = free
	return err
}

// DeviceReport describes one CUDA device without loading glmtool's kernels on it.
type DeviceReport struct {
	Ordinal       int    `json:"ordinal"`
	Name          string `json:"name"`
	Compute       string `json:"compute_capability"` // "9.0"
	SMs           int    `json:"multiprocessors"`
	FreeBytes     uint64 `json:"free_bytes"`
	TotalBytes    uint64 `json:"total_bytes"`
	Usable        bool   `json:"usable"` // compute capability 6.1 or newer (the PTX's target)
	DriverCUDA    string `json:"driver_cuda_version"`
	DriverLibrary string `json:"driver_library"`
}

// Devices lists the CUDA devices the driver library (lib, or the system's when empty) sees.
func Devices(lib string) ([]DeviceReport, error) {
	var names []string
	if lib != "" {
		names = []string{lib}
	}
	d, err := driver.Open(names...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	defer d.Close()
	n, err := d.DeviceCount()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	v, _ := d.Version()
	var out []DeviceReport
	for i := range n {
		dev, info, err := d.Device(i)
		if err != nil {
			return nil, err
		}
		r := DeviceReport{Ordinal: i, Name: info.Name, Compute: fmt.Sprintf("%d.%d", info.Major, info.Minor), SMs: info.Multiprocessors,
			TotalBytes: info.TotalMemory, Usable: info.Major > 6 || info.Major == 6 && info.Minor >= 1, DriverCUDA: v, DriverLibrary: d.Path()}
		if ctx, err := d.PrimaryContext(dev); err == nil {
			if d.Enter(ctx) == nil {
				r.FreeBytes, _, _ = d.MemInfo()
				d.Leave()
			}
			_ = d.ReleasePrimaryContext(dev)
		}
		out = append(out, r)
	}
	return out, nil
}
