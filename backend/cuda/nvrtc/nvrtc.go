// Package nvrtc compiles CUDA C to PTX with NVIDIA's runtime compiler, loaded at run time (libnvrtc, no
// cgo, no GPU needed). glmtool uses it at `go generate` time to turn backend/cuda/kernels into the PTX it
// embeds, and in tests that check the embedded PTX still matches its sources.
package nvrtc

import (
	"fmt"
	"runtime"
	"sort"
	"unsafe"

	"github.com/glmtool/glmtool/backend/cuda/internal/dynlib"
)

// Compiler is an opened libnvrtc.
type Compiler struct {
	lib *dynlib.Lib

	// nvrtcResult nvrtcVersion(int *major, int *minor);
	version func(major, minor *int32) int32
	// nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders,
	//     const char * const *headers, const char * const *includeNames);
	createProgram func(prog *uintptr, src, name string, numHeaders int32, headers, includeNames unsafe.Pointer) int32
	// nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options);
	compileProgram func(prog uintptr, numOptions int32, options unsafe.Pointer) int32
	// nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet);
	getPTXSize func(prog uintptr, size *uintptr) int32
	// nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx);
	getPTX func(prog uintptr, ptx *byte) int32
	// nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet);
	getLogSize func(prog uintptr, size *uintptr) int32
	// nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log);
	getLog func(prog uintptr, log *byte) int32
	// nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog);
	destroyProgram func(prog *uintptr) int32
	// const char *nvrtcGetErrorString(nvrtcResult result);
	errorString func(result int32) string
}

// LibraryNames are the names libnvrtc goes by, newest first (Debian's libnvrtc11.2 ships libnvrtc.so.11.2).
func LibraryNames() []string {
	return []string{"libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll"}
}

// Open loads the first library of names that loads (LibraryNames when names is empty).
func Open(names ...string) (*Compiler, error) {
	if len(names) == 0 {
		names = LibraryNames()
	}
	lib, err := dynlib.Open(names...)
	if err != nil {
		return nil, fmt.Errorf("NVRTC: %w", err)
	}
	c := &Compiler{lib: lib}
	err = lib.Bind(map[string]any{
		"nvrtcVersion":           &c.version,
		"nvrtcCreateProgram":     &c.createProgram,
		"nvrtcCompileProgram":    &c.compileProgram,
		"nvrtcGetPTXSize":        &c.getPTXSize,
		"nvrtcGetPTX":            &c.getPTX,
		"nvrtcGetProgramLogSize": &c.getLogSize,
		"nvrtcGetProgramLog":     &c.getLog,
		"nvrtcDestroyProgram":    &c.destroyProgram,
		"nvrtcGetErrorString":    &c.errorString,
	})
	if err != nil {
		lib.Close()
		return nil, err
	}
	return c, nil
}

// Close unloads the library.
func (c *Compiler) Close() error { return c.lib.Close() }

// Version is the compiler's CUDA version, as "11.8".
func (c *Compiler) Version() (string, error) {
	var major, minor int32
	if r := c.version(&major, &minor); r != 0 {
		return "", c.fail("nvrtcVersion", r)
	}
	return fmt.Sprintf("%d.%d", major, minor), nil
}

func (c *Compiler) fail(call string, r int32) error {
	return fmt.Errorf("%s: %s (NVRTC error %d)", call, c.errorString(r), r)
}

// cStrings returns a NUL-terminated copy of each string and an array of pointers to them; the caller
// keeps both alive across the call.
func cStrings(ss []string) ([][]byte, []*byte) {
	bufs := make([][]byte, len(ss))
	ptrs := make([]*byte, len(ss)+1)
	for i, s := range ss {
		bufs[i] = append([]byte(s), 0)
		ptrs[i] = &bufs[i][0]
	}
	return bufs, ptrs
}

// Compile compiles src (named name in messages) with the given headers (include name → contents) and
// options, returning the PTX, without its trailing NUL. A compile error carries NVRTC's log.
func (c *Compiler) Compile(name, src string, headers map[string]string, options []string) ([]byte, error) {
	names := make([]string, 0, len(headers))
	for n := range headers {
		names = append(names, n)
	}
	sort.Strings(names)
	contents := make([]string, len(names))
	for i, n := range names {
		contents[i] = headers[n]
	}
	hb, hp := cStrings(contents)
	nb, np := cStrings(names)
	ob, op := cStrings(options)
	defer runtime.KeepAlive([]any{hb, hp, nb, np, ob, op})

	var prog uintptr
	if r := c.createProgram(&prog, src, name, int32(len(names)), unsafe.Pointer(&hp[0]), unsafe.Pointer(&np[0])); r != 0 {
		return nil, c.fail("nvrtcCreateProgram "+name, r)
	}
	defer c.destroyProgram(&prog)
	if r := c.compileProgram(prog, int32(len(options)), unsafe.Pointer(&op[0])); r != 0 {
		return nil, fmt.Errorf("%s: %w\n%s", name, c.fail("nvrtcCompileProgram", r), c.log(prog))
	}
	var size uintptr
	if r := c.getPTXSize(prog, &size); r != 0 {
		return nil, c.fail("nvrtcGetPTXSize "+name, r)
	}
	ptx := make([]byte, size)
	if size > 0 {
		if r := c.getPTX(prog, &ptx[0]); r != 0 {
			return nil, c.fail("nvrtcGetPTX "+name, r)
		}
	}
	for len(ptx) > 0 && ptx[len(ptx)-1] == 0 {
		ptx = ptx[:len(ptx)-1]
	}
	return ptx, nil
}

// log is the program's compile log.
func (c *Compiler) log(prog uintptr) string {
	var size uintptr
	if c.getLogSize(prog, &size) != 0 || size <= 1 {
		return ""
	}
	b := make([]byte, size)
	if c.getLog(prog, &b[0]) != 0 {
		return ""
	}
	return string(b[:size-1])
}
