package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu"
	"github.com/glmtool/glmtool/backend/cuda"
	"github.com/glmtool/glmtool/backend/split"
	"github.com/glmtool/glmtool/gguf"
)

// deviceUsage and gpuLayersUsage are the help of every command's --device and --gpu-layers.
const (
	deviceUsage    = "backend: cpu, cuda (an NVIDIA GPU through its driver; no CUDA toolkit needed) or auto (cuda where a GPU with enough free memory is found, else cpu)"
	gpuLayersUsage = "with --device cuda or auto: run the first N blocks on the GPU and the rest, with the output layer, on the CPU (-1: all)"
)

// cudaLibraryEnv names the driver library to load instead of the system's libcuda (tests point it at
// the CPU shim); cudaActivationsEnv=f32 keeps every product's activations in float32 (for comparing with
// the default 8-bit activations of the Q4_0/Q8_0 products).
const (
	cudaLibraryEnv     = "GLMTOOL_CUDA_LIBRARY"
	cudaActivationsEnv = "GLMTOOL_CUDA_ACTIVATIONS"
)

// deviceFlags are --device and --gpu-layers.
type deviceFlags struct {
	device    string
	gpuLayers int
}

func (f *deviceFlags) check(given func(string) bool) error {
	switch f.device {
	case "cpu", "cuda", "auto":
	default:
		return usagef("--device %q: want cpu, cuda or auto", f.device)
	}
	if f.gpuLayers < -1 {
		return usagef("--gpu-layers %d: want 0 or more, or -1 for all", f.gpuLayers)
	}
	if f.device == "cpu" && given("gpu-layers") {
		return usagef("--gpu-layers needs --device cuda or auto")
	}
	return nil
}

// open returns the backend the flags ask for: nil for the CPU (infer starts it with the thread count), a
// CUDA backend, or with --gpu-layers below the model's block count the split of the two. With auto it
// falls back to the CPU, saying why on stderr, when no GPU can be used or its free memory is below what
// the GPU's share of the file needs (plus a tenth for the KV cache and scratch).
func (f *deviceFlags) open(modelPath string, threads int, stderr io.Writer) (backend.Backend, error) {
	if f.device == "cpu" {
		return nil, nil
	}
	blocks, size, err := modelShape(modelPath)
	if err != nil {
		return nil, err
	}
	gpu := blocks
	if f.gpuLayers >= 0 && f.gpuLayers < blocks {
		gpu = f.gpuLayers
	}
	b, err := cuda.New(cuda.Options{Library: os.Getenv(cudaLibraryEnv), FloatActivations: os.Getenv(cudaActivationsEnv) == "f32"})
	if err != nil {
		if f.device == "auto" {
			fmt.Fprintf(stderr, "glmtool: --device auto: using the CPU (%v)\n", err)
			return nil, nil
		}
		if errors.Is(err, cuda.ErrNoDevice) {
			return nil, fmt.Errorf("--device cuda: %w (use --device cpu or auto)", err)
		}
		return nil, fmt.Errorf("--device cuda: %w", err)
	}
	if f.device == "auto" {
		need := size * int64(gpu) / int64(max(blocks, 1))
		need += need / 10
		if free := b.DeviceMemory().Free; free < uint64(need) {
			fmt.Fprintf(stderr, "glmtool: --device auto: using the CPU (%s has %s free, %d blocks of %s need about %s; --gpu-layers offloads fewer)\n",
				b.Device(), formatBytes(int64(free)), gpu, modelPath, formatBytes(need))
			b.Close()
			return nil, nil
		}
		fmt.Fprintf(stderr, "glmtool: --device auto: using %s for %d of %d blocks\n", b.Device(), gpu, blocks)
	}
	if gpu == blocks {
		return b, nil
	}
	c, err := cpu.New(threads)
	if err != nil {
		b.Close()
		return nil, err
	}
	sb, err := split.New(c, b, gpu)
	if err != nil {
		b.Close()
		return nil, err
	}
	return sb, nil
}

// modelShape reads a model's block count and file size from its header.
func modelShape(path string) (blocks int, size int64, err error) {
	f, err := gguf.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	p, err := arch.ReadParams(f)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	return p.Blocks, st.Size(), nil
}
