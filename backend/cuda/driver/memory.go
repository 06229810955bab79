package driver

import "unsafe"

// Ptr is a CUdeviceptr.
type Ptr uint64

type memory struct {
	// CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize);
	cuMemAlloc func(p *Ptr, n uint64) Result
	// CUresult cuMemFree_v2(CUdeviceptr dptr);
	cuMemFree func(p Ptr) Result
	// CUresult cuMemGetInfo_v2(size_t *free, size_t *total);
	cuMemGetInfo func(free, total *uint64) Result
	// CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount);
	cuMemcpyHtoD func(dst Ptr, src unsafe.Pointer, n uint64) Result
	// CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount);
	cuMemcpyDtoH func(dst unsafe.Pointer, src Ptr, n uint64) Result
	// CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount);
	cuMemcpyDtoD func(dst, src Ptr, n uint64) Result
	// CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N);
	cuMemsetD8 func(dst Ptr, v uint8, n uint64) Result
}

func (x *memory) funcs() map[string]any {
	return map[string]any{"cuMemAlloc_v2": &x.cuMemAlloc, "cuMemFree_v2": &x.cuMemFree, "cuMemGetInfo_v2": &x.cuMemGetInfo,
		"cuMemcpyHtoD_v2": &x.cuMemcpyHtoD, "cuMemcpyDtoH_v2": &x.cuMemcpyDtoH, "cuMemcpyDtoD_v2": &x.cuMemcpyDtoD,
		"cuMemsetD8_v2": &x.cuMemsetD8}
}

// Alloc allocates n bytes of device memory.
func (d *Driver) Alloc(n int64) (Ptr, error) {
	var p Ptr
	err := d.check("cuMemAlloc", d.cuMemAlloc(&p, uint64(n)))
	return p, err
}

// Free frees p.
func (d *Driver) Free(p Ptr) error { return d.check("cuMemFree", d.cuMemFree(p)) }

// MemInfo is the device's free and total memory.
func (d *Driver) MemInfo() (free, total uint64, err error) {
	err = d.check("cuMemGetInfo", d.cuMemGetInfo(&free, &total))
	return
}

// CopyToDevice copies src to dst.
func (d *Driver) CopyToDevice(dst Ptr, src unsafe.Pointer, n int64) error {
	if n == 0 {
		return nil
	}
	return d.check("cuMemcpyHtoD", d.cuMemcpyHtoD(dst, src, uint64(n)))
}

// CopyToHost copies n bytes at src to dst.
func (d *Driver) CopyToHost(dst unsafe.Pointer, src Ptr, n int64) error {
	if n == 0 {
		return nil
	}
	return d.check("cuMemcpyDtoH", d.cuMemcpyDtoH(dst, src, uint64(n)))
}

// CopyDevice copies n bytes from src to dst on the device.
func (d *Driver) CopyDevice(dst, src Ptr, n int64) error {
	if n == 0 {
		return nil
	}
	return d.check("cuMemcpyDtoD", d.cuMemcpyDtoD(dst, src, uint64(n)))
}

// Memset sets n bytes at dst to v.
func (d *Driver) Memset(dst Ptr, v byte, n int64) error {
	return d.check("cuMemsetD8", d.cuMemsetD8(dst, v, uint64(n)))
}
