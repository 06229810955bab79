// Package cudatest gives tests a CUDA backend: on the real driver when GLMTOOL_CUDA_DEVICE=1 (a machine
// with a GPU), else on the CPU shim built from the kernel sources (backend/cuda/shim). Where neither can
// be had, the test skips with the reason, except under CI=true, where it fails.
package cudatest

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/glmtool/glmtool/backend/cuda"
	"github.com/glmtool/glmtool/backend/cuda/shim"
)

// shimBuild is the shim library, built once per test process into its own temporary directory.
var shimBuild = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "glmtool-cudashim-")
	if err != nil {
		return "", err
	}
	return shim.Build(dir)
})

// OnGPU reports whether tests run on the real driver (GLMTOOL_CUDA_DEVICE=1).
func OnGPU() bool { return os.Getenv("GLMTOOL_CUDA_DEVICE") == "1" }

// Options returns the options of a test backend: the real driver on a GPU machine, else the shim.
func Options(t testing.TB) cuda.Options {
	t.Helper()
	if OnGPU() {
		return cuda.Options{}
	}
	lib, err := shimBuild()
	if err != nil {
		if !errors.Is(err, shim.ErrNoCompiler) {
			t.Fatal(err) // the sources do not compile: a defect, not a missing resource
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("CUDA shim: %v", err)
		}
		t.Skipf("CUDA shim cannot be built (a C++20 compiler is needed): %v", err)
	}
	return cuda.Options{Library: lib}
}

// Backend opens a test backend and closes it when the test ends.
func Backend(t testing.TB) *cuda.Backend {
	t.Helper()
	b, err := cuda.New(Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// ShimDir is the directory of the shim library (for tests that name the library file).
func ShimDir(t testing.TB) string { return filepath.Dir(Options(t).Library) }
