package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cuda"
)

// deviceUsage is the help of every command's --device.
const deviceUsage = "backend: cpu, cuda (an NVIDIA GPU through its driver; no CUDA toolkit needed) or auto (cuda where a GPU with enough free memory is found, else cpu)"

// cudaLibraryEnv names the driver library to load instead of the system's libcuda (tests point it at
// the CPU shim).
const cudaLibraryEnv = "GLMTOOL_CUDA_LIBRARY"

func checkDevice(device string) error {
	switch device {
	case "cpu", "cuda", "auto":
		return nil
	}
	return usagef("--device %q: want cpu, cuda or auto", device)
}

// openBackend returns the backend --device asks for: nil for the CPU (infer starts it with the thread
// count), or a CUDA backend. With auto it falls back to the CPU, saying why on stderr, when no GPU can be
// used or its free memory is below what the file needs (its size, plus a tenth for the KV cache and
// scratch).
func openBackend(device, modelPath string, stderr io.Writer) (backend.Backend, error) {
	if device == "cpu" {
		return nil, nil
	}
	b, err := cuda.New(cuda.Options{Library: os.Getenv(cudaLibraryEnv)})
	if err != nil {
		if device == "auto" {
			fmt.Fprintf(stderr, "glmtool: --device auto: using the CPU (%v)\n", err)
			return nil, nil
		}
		if errors.Is(err, cuda.ErrNoDevice) {
			return nil, fmt.Errorf("--device cuda: %w (use --device cpu or auto)", err)
		}
		return nil, fmt.Errorf("--device cuda: %w", err)
	}
	if device == "auto" {
		st, serr := os.Stat(modelPath)
		_, free, _ := b.DeviceMemory()
		if serr == nil && free < uint64(st.Size()+st.Size()/10) {
			fmt.Fprintf(stderr, "glmtool: --device auto: using the CPU (%s has %s free, %s needs about %s)\n",
				b.Device(), formatBytes(int64(free)), modelPath, formatBytes(st.Size()+st.Size()/10))
			b.Close()
			return nil, nil
		}
		fmt.Fprintf(stderr, "glmtool: --device auto: using %s\n", b.Device())
	}
	return b, nil
}
