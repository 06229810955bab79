// Command genptx compiles the CUDA backend's kernel sources to PTX with NVRTC (go generate in
// backend/cuda/kernels). It needs libnvrtc (Debian: libnvrtc11.2 from non-free), not a GPU.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/glmtool/glmtool/backend/cuda/kernels"
	"github.com/glmtool/glmtool/backend/cuda/nvrtc"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "genptx:", err)
		os.Exit(1)
	}
}

func run() error {
	c, err := nvrtc.Open()
	if err != nil {
		return err
	}
	defer c.Close()
	v, err := c.Version()
	if err != nil {
		return err
	}
	for _, s := range kernels.Sources() {
		ptx, err := c.Compile(s.Name, s.Text, kernels.Headers(), kernels.CompileOptions())
		if err != nil {
			return err
		}
		out := filepath.Join("ptx", kernels.PTXName(s.Name))
		if err := writeAtomic(out, ptx); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes of PTX (NVRTC %s, %s)\n", out, len(ptx), v, kernels.Arch)
	}
	return nil
}

// writeAtomic writes data to a temporary file beside path and renames it over path.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".genptx-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
