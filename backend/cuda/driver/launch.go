package driver

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

type launch struct {
	// CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
	//     unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes,
	//     CUstream hStream, void **kernelParams, void **extra);
	cuLaunchKernel func(f Function, gx, gy, gz, bx, by, bz, shmem uint32, stream uintptr, params, extra unsafe.Pointer) Result
}

func (x *launch) funcs() map[string]any { return map[string]any{"cuLaunchKernel": &x.cuLaunchKernel} }

// Dim is a grid or block size.
type Dim struct{ X, Y, Z uint32 }

// maxArgs bounds a kernel's parameters (glmtool's take at most a dozen).
const maxArgs = 16

// Launch runs f on the default stream with args, each a Ptr, int32, int (passed as int32) or float32, in
// the kernel's parameter order.
func (d *Driver) Launch(name string, f Function, grid, block Dim, args ...any) error {
	if len(args) > maxArgs {
		return fmt.Errorf("launch %s: %d arguments, at most %d", name, len(args), maxArgs)
	}
	var slots [maxArgs]uint64
	var ptrs [maxArgs]unsafe.Pointer
	for i, a := range args {
		switch v := a.(type) {
		case Ptr:
			slots[i] = uint64(v)
		case int32:
			slots[i] = uint64(uint32(v))
		case int:
			if v != int(int32(v)) {
				return fmt.Errorf("launch %s: argument %d (%d) overflows int32", name, i, v)
			}
			slots[i] = uint64(uint32(int32(v)))
		case float32:
			slots[i] = uint64(math.Float32bits(v))
		default:
			return fmt.Errorf("launch %s: argument %d has type %T", name, i, a)
		}
		ptrs[i] = unsafe.Pointer(&slots[i])
	}
	grid, block = norm(grid), norm(block)
	r := d.cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, 0, 0, unsafe.Pointer(&ptrs[0]), nil)
	runtime.KeepAlive(&slots)
	return d.check("cuLaunchKernel "+name, r)
}

// norm makes zero dimensions 1.
func norm(d Dim) Dim {
	if d.Y == 0 {
		d.Y = 1
	}
	if d.Z == 0 {
		d.Z = 1
	}
	return d
}
