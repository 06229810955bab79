package cmd

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/backend/cuda"
)

// devicesJSON is `glmtool devices --json`.
type devicesJSON struct {
	CPU  cpuReport  `json:"cpu"`
	CUDA cudaReport `json:"cuda"`
}

type cpuReport struct {
	Model       string `json:"model"`
	Cores       int    `json:"physical_cores"`
	Threads     int    `json:"logical_cpus"`
	Kernels     string `json:"kernels"`
	MemoryBytes int64  `json:"memory_bytes"`
}

type cudaReport struct {
	Available bool                `json:"available"`
	Error     string              `json:"error,omitempty"` // why not, when not
	Devices   []cuda.DeviceReport `json:"devices"`
}

func (a *app) devicesCommand() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "devices",
		Short: "List the CPU and the CUDA devices glmtool can run on",
		Long: `List what --device can use: the CPU (its model, cores, the kernel set glmtool chose for it and the
memory) and every CUDA device the NVIDIA driver reports (name, compute capability, multiprocessors, free
and total memory, driver version). No driver or no GPU is not an error: the CUDA part says why. A device
below compute capability 6.1 is listed as not usable (glmtool's kernels need Pascal or newer).`,
		Example: `  glmtool devices
  glmtool devices --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := kernels.Default()
			if err != nil {
				return err
			}
			r := devicesJSON{CPU: cpuReport{Model: cpuModel(), Cores: physicalCores(), Threads: runtime.NumCPU(),
				Kernels: k.Name(), MemoryBytes: memTotal()}}
			devs, err := cuda.Devices(os.Getenv(cudaLibraryEnv))
			r.CUDA = cudaReport{Available: err == nil && len(devs) > 0, Devices: devs}
			switch {
			case err != nil:
				r.CUDA.Error = err.Error()
			case len(devs) == 0:
				r.CUDA.Error = "the NVIDIA driver reports no CUDA device"
			}
			if r.CUDA.Devices == nil {
				r.CUDA.Devices = []cuda.DeviceReport{}
			}
			out := a.stdout
			if asJSON {
				return writeJSON(out, r, false)
			}
			fmt.Fprintf(out, "cpu      %s, %d cores (%d logical), kernels %s, %s memory\n", r.CPU.Model, r.CPU.Cores, r.CPU.Threads,
				r.CPU.Kernels, formatBytes(r.CPU.MemoryBytes))
			if r.CUDA.Error != "" {
				fmt.Fprintf(out, "cuda     none: %s\n", r.CUDA.Error)
				return nil
			}
			for _, d := range r.CUDA.Devices {
				usable := ""
				if !d.Usable {
					usable = " (not usable: compute capability 6.1 or newer needed)"
				}
				fmt.Fprintf(out, "cuda:%d   %s, compute %s, %d SMs, %s free of %s, driver CUDA %s%s\n", d.Ordinal, d.Name, d.Compute, d.SMs,
					formatBytes(int64(d.FreeBytes)), formatBytes(int64(d.TotalBytes)), d.DriverCUDA, usable)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return c
}

// cpuModel is /proc/cpuinfo's first "model name", or the architecture where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
