package driver

import "fmt"

// Device is a CUdevice ordinal.
type Device int32

// Device attributes (CUdevice_attribute) that glmtool reads.
const (
	AttrMultiprocessors   = 16
	AttrComputeCapMajor   = 75
	AttrComputeCapMinor   = 76
	AttrMaxSharedPerBlock = 8
)

type device struct {
	// CUresult cuInit(unsigned int Flags);
	cuInit func(flags uint32) Result
	// CUresult cuDriverGetVersion(int *driverVersion);
	cuDriverGetVersion func(v *int32) Result
	// CUresult cuDeviceGetCount(int *count);
	cuDeviceGetCount func(n *int32) Result
	// CUresult cuDeviceGet(CUdevice *device, int ordinal);
	cuDeviceGet func(d *Device, ordinal int32) Result
	// CUresult cuDeviceGetName(char *name, int len, CUdevice dev);
	cuDeviceGetName func(name *byte, n int32, d Device) Result
	// CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev);
	cuDeviceGetAttribute func(v *int32, attr int32, d Device) Result
	// CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev);
	cuDeviceTotalMem func(b *uint64, d Device) Result
}

func (x *device) funcs() map[string]any {
	return map[string]any{
		"cuInit": &x.cuInit, "cuDriverGetVersion": &x.cuDriverGetVersion, "cuDeviceGetCount": &x.cuDeviceGetCount,
		"cuDeviceGet": &x.cuDeviceGet, "cuDeviceGetName": &x.cuDeviceGetName,
		"cuDeviceGetAttribute": &x.cuDeviceGetAttribute, "cuDeviceTotalMem_v2": &x.cuDeviceTotalMem,
	}
}

// Version is the driver's CUDA version, as "12.4".
func (d *Driver) Version() (string, error) {
	var v int32
	if err := d.check("cuDriverGetVersion", d.cuDriverGetVersion(&v)); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d.%d", v/1000, v%1000/10), nil
}

// DeviceCount is the number of CUDA devices.
func (d *Driver) DeviceCount() (int, error) {
	var n int32
	err := d.check("cuDeviceGetCount", d.cuDeviceGetCount(&n))
	return int(n), err
}

// DeviceInfo describes a device.
type DeviceInfo struct {
	Name                   string
	Major, Minor           int // compute capability
	Multiprocessors        int
	TotalMemory            uint64
	MaxSharedMemoryPerBloc int
}

// Device returns device ordinal and what it is.
func (d *Driver) Device(ordinal int) (Device, DeviceInfo, error) {
	var dev Device
	var info DeviceInfo
	if err := d.check("cuDeviceGet", d.cuDeviceGet(&dev, int32(ordinal))); err != nil {
		return 0, info, err
	}
	name := make([]byte, 256)
	if err := d.check("cuDeviceGetName", d.cuDeviceGetName(&name[0], int32(len(name)), dev)); err != nil {
		return 0, info, err
	}
	info.Name = goString(&name[0])
	for _, a := range []struct {
		attr int32
		dst  *int
	}{{AttrComputeCapMajor, &info.Major}, {AttrComputeCapMinor, &info.Minor}, {AttrMultiprocessors, &info.Multiprocessors},
		{AttrMaxSharedPerBlock, &info.MaxSharedMemoryPerBloc}} {
		var v int32
		if err := d.check("cuDeviceGetAttribute", d.cuDeviceGetAttribute(&v, a.attr, dev)); err != nil {
			return 0, info, err
		}
		*a.dst = int(v)
	}
	if err := d.check("cuDeviceTotalMem", d.cuDeviceTotalMem(&info.TotalMemory, dev)); err != nil {
		return 0, info, err
	}
	return dev, info, nil
}
