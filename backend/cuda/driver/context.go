package driver

import "runtime"

// Context is a CUcontext.
type Context uintptr

type context struct {
	// CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev);
	cuDevicePrimaryCtxRetain func(c *Context, d Device) Result
	// CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev);
	cuDevicePrimaryCtxRelease func(d Device) Result
	// CUresult cuCtxSetCurrent(CUcontext ctx);
	cuCtxSetCurrent func(c Context) Result
	// CUresult cuCtxSynchronize(void);
	cuCtxSynchronize func() Result
}

func (x *context) funcs() map[string]any {
	return map[string]any{
		"cuDevicePrimaryCtxRetain": &x.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRelease_v2": &x.cuDevicePrimaryCtxRelease,
		"cuCtxSetCurrent": &x.cuCtxSetCurrent, "cuCtxSynchronize": &x.cuCtxSynchronize,
	}
}

// PrimaryContext retains dev's primary context (the one the CUDA runtime shares).
func (d *Driver) PrimaryContext(dev Device) (Context, error) {
	var c Context
	err := d.check("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain(&c, dev))
	return c, err
}

// ReleasePrimaryContext releases it.
func (d *Driver) ReleasePrimaryContext(dev Device) error {
	return d.check("cuDevicePrimaryCtxRelease", d.cuDevicePrimaryCtxRelease(dev))
}

// Enter makes c current on this goroutine's OS thread and pins the goroutine to that thread (a CUDA
// context is current per thread, and Go moves goroutines between threads); Leave undoes the pin.
func (d *Driver) Enter(c Context) error {
	runtime.LockOSThread()
	if err := d.check("cuCtxSetCurrent", d.cuCtxSetCurrent(c)); err != nil {
		runtime.UnlockOSThread()
		return err
	}
	return nil
}

// Leave ends an Enter.
func (d *Driver) Leave() { runtime.UnlockOSThread() }

// Synchronize waits for the current context's work to finish and reports a failed kernel.
func (d *Driver) Synchronize() error { return d.check("cuCtxSynchronize", d.cuCtxSynchronize()) }
