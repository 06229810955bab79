package driver

import "unsafe"

// Module is a CUmodule; Function a CUfunction.
type (
	Module   uintptr
	Function uintptr
)

type module struct {
	// CUresult cuModuleLoadData(CUmodule *module, const void *image);
	cuModuleLoadData func(m *Module, image unsafe.Pointer) Result
	// CUresult cuModuleUnload(CUmodule hmod);
	cuModuleUnload func(m Module) Result
	// CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name);
	cuModuleGetFunction func(f *Function, m Module, name string) Result
}

func (x *module) funcs() map[string]any {
	return map[string]any{"cuModuleLoadData": &x.cuModuleLoadData, "cuModuleUnload": &x.cuModuleUnload,
		"cuModuleGetFunction": &x.cuModuleGetFunction}
}

// LoadPTX loads a PTX module (the driver compiles it for the device).
func (d *Driver) LoadPTX(name string, ptx []byte) (Module, error) {
	img := append(append([]byte(nil), ptx...), 0) // the driver reads a NUL-terminated image
	var m Module
	err := d.check("cuModuleLoadData "+name, d.cuModuleLoadData(&m, unsafe.Pointer(&img[0])))
	return m, err
}

// Unload unloads m.
func (d *Driver) Unload(m Module) error { return d.check("cuModuleUnload", d.cuModuleUnload(m)) }

// Function looks up a kernel of m by name.
func (d *Driver) Function(m Module, name string) (Function, error) {
	var f Function
	err := d.check("cuModuleGetFunction "+name, d.cuModuleGetFunction(&f, m, name))
	return f, err
}
