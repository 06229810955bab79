// Package driver binds the part of the CUDA driver API (libcuda) that the CUDA backend uses, loaded at
// run time through purego: no cgo and no CUDA toolkit at build time, only the NVIDIA driver on the
// machine that runs it. One file per area of the API (device.go, context.go, module.go, memory.go,
// launch.go), each function with its C prototype above it. Every call returns an error naming the call
// and CUDA's name for the failure (CUDA_ERROR_OUT_OF_MEMORY, ...).
package driver

import (
	"fmt"
	"runtime"

	"github.com/glmtool/glmtool/backend/cuda/internal/dynlib"
)

// Result is a CUresult.
type Result int32

// The CUresult values that glmtool reacts to.
const (
	Success           Result = 0
	ErrorOutOfMemory  Result = 2
	ErrorNoDevice     Result = 100
	ErrorInvalidPTX   Result = 218
	ErrorUnsupported  Result = 222 // CUDA_ERROR_UNSUPPORTED_PTX_VERSION: a driver older than the PTX
	ErrorNotFound     Result = 500
	ErrorInsufficient Result = 35 // CUDA_ERROR_INSUFFICIENT_DRIVER
)

// Error is a failed driver call.
type Error struct {
	Call   string
	Result Result
	Name   string // CUDA's name for Result
	Text   string // its description
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Call, e.Text, e.Name)
}

// Driver is an opened libcuda.
type Driver struct {
	lib *dynlib.Lib
	device
	context
	module
	memory
	launch
	// CUresult cuGetErrorName(CUresult error, const char **pStr);
	errorName func(r Result, s **byte) Result
	// CUresult cuGetErrorString(CUresult error, const char **pStr);
	errorString func(r Result, s **byte) Result
}

// LibraryNames are the names the driver library goes by on this system.
func LibraryNames() []string {
	if runtime.GOOS == "windows" {
		return []string{"nvcuda.dll"}
	}
	return []string{"libcuda.so.1", "libcuda.so"}
}

// Open loads the driver library (the first of names that loads; LibraryNames when none is given), binds
// its functions and initialises it (cuInit).
func Open(names ...string) (*Driver, error) {
	if len(names) == 0 {
		names = LibraryNames()
	}
	lib, err := dynlib.Open(names...)
	if err != nil {
		return nil, fmt.Errorf("no NVIDIA driver: %w", err)
	}
	d := &Driver{lib: lib}
	funcs := map[string]any{"cuGetErrorName": &d.errorName, "cuGetErrorString": &d.errorString}
	for _, part := range []map[string]any{d.device.funcs(), d.context.funcs(), d.module.funcs(), d.memory.funcs(), d.launch.funcs()} {
		for k, v := range part {
			funcs[k] = v
		}
	}
	if err := lib.Bind(funcs); err != nil {
		lib.Close()
		return nil, fmt.Errorf("NVIDIA driver too old or not a CUDA driver: %w", err)
	}
	if err := d.check("cuInit", d.cuInit(0)); err != nil {
		lib.Close()
		return nil, err
	}
	return d, nil
}

// Path is the library that was loaded.
func (d *Driver) Path() string { return d.lib.Path }

// Close unloads the library.
func (d *Driver) Close() error { return d.lib.Close() }

// check turns a result into an error naming call.
func (d *Driver) check(call string, r Result) error {
	if r == Success {
		return nil
	}
	e := &Error{Call: call, Result: r, Name: fmt.Sprintf("CUresult %d", r), Text: "unknown error"}
	var s *byte
	if d.errorName(r, &s) == Success && s != nil {
		e.Name = goString(s)
	}
	if d.errorString(r, &s) == Success && s != nil {
		e.Text = goString(s)
	}
	return e
}
