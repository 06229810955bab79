package cmd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/backend/cuda/cudatest"
	"github.com/glmtool/glmtool/internal/testenv"
)

// TestDeviceFlags: --device in a CGO_ENABLED=0 binary. cuda runs on the driver library named by
// GLMTOOL_CUDA_LIBRARY (the CPU shim here, the real driver on a GPU machine) with the CPU's greedy ids and
// a VRAM line under -v; bench reports the CUDA backend and measured vram_bytes; with no driver, cuda is one
// clear error (exit 1) and auto runs on the CPU with one line saying why; an unknown device is a usage
// error (exit 2); `glmtool devices` lists the device, or says why there is none.
func TestDeviceFlags(t *testing.T) {
	model := testenv.Path(t, "gguf", "chatglm3-tiny-Q4_0.gguf")
	opt := cudatest.Options(t)
	bin := buildBinary(t)
	lib := []string{cudaLibraryEnv + "=" + opt.Library}
	if cudatest.OnGPU() {
		lib = nil
	}
	noDriver := []string{cudaLibraryEnv + "=/nonexistent/libcuda.so.1"}
	args := []string{"run", "-m", model, "--prompt-ids", "5,17,3,60,9", "-n", "6", "--temp", "0", "--json"}

	code, cpuOut, stderr := execCLI(t, bin, nil, args...)
	if code != ExitOK {
		t.Fatalf("cpu: exit %d: %s", code, stderr)
	}
	code, gpuOut, stderr := execCLI(t, bin, lib, append(args, "--device", "cuda", "-v")...)
	if code != ExitOK {
		t.Fatalf("cuda: exit %d: %s", code, stderr)
	}
	ids := func(out string) string {
		var j struct {
			IDs []int32 `json:"generated_ids"`
		}
		if err := json.Unmarshal([]byte(out), &j); err != nil || len(j.IDs) == 0 {
			t.Fatalf("run --json: %v: %s", err, out)
		}
		b, _ := json.Marshal(j.IDs)
		return string(b)
	}
	if c, g := ids(cpuOut), ids(gpuOut); c != g {
		t.Errorf("greedy ids: cpu %s, cuda %s", c, g)
	}
	if !strings.Contains(stderr, "VRAM: ") || !strings.Contains(stderr, "held by glmtool") {
		t.Errorf("run -v on cuda: no VRAM line in %q", stderr)
	}
	for out, want := range map[string]string{cpuOut: `"backend":"cpu","vram_bytes":null`, gpuOut: `"backend":"cuda","vram_bytes":`} {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), want) {
			t.Errorf("run --json: %s lacks %s", out, want)
		}
	}

	// Half the blocks on the GPU (--gpu-layers 1 of 2), F32 weights: the CPU's greedy ids.
	f32 := testenv.Path(t, "gguf", "chatglm3-tiny-f32.gguf")
	f32args := []string{"run", "-m", f32, "--prompt-ids", "5,17,3,60,9", "-n", "6", "--temp", "0", "--json"}
	_, cpuF32, _ := execCLI(t, bin, nil, f32args...)
	code, splitOut, stderr := execCLI(t, bin, lib, append(f32args, "--device", "cuda", "--gpu-layers", "1")...)
	if code != ExitOK {
		t.Fatalf("--gpu-layers 1: exit %d: %s", code, stderr)
	}
	if ids(splitOut) != ids(cpuF32) || !strings.Contains(strings.ReplaceAll(splitOut, " ", ""), `"backend":"cuda+cpu"`) {
		t.Errorf("--gpu-layers 1: %s; cpu gave ids %s", splitOut, ids(cpuF32))
	}
	if code, _, stderr := execCLI(t, bin, nil, append(args, "--gpu-layers", "1")...); code != ExitUsage || !strings.Contains(stderr, "needs --device cuda or auto") {
		t.Errorf("--gpu-layers on the CPU: exit %d %q", code, stderr)
	}

	code, out, stderr := execCLI(t, bin, lib, "bench", "-m", model, "--device", "cuda", "-p", "8", "-n", "4", "-r", "1", "-o", "json")
	if code != ExitOK {
		t.Fatalf("bench --device cuda: exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
		t.Fatalf("bench json: %v: %s", err, out)
	}
	for _, r := range rows {
		if v, ok := r["vram_bytes"].(float64); r["backend"] != "CUDA" || !ok || v < 500e3 {
			t.Errorf("bench row on cuda: backend %v, vram_bytes %v (the Q4_0 weights alone are 0.5 MB)", r["backend"], r["vram_bytes"])
		}
		// The roofline of a GPU's generation is against the device's own copy bandwidth.
		if bw, _ := r["bandwidth_bytes_per_second"].(float64); bw <= 0 {
			t.Errorf("bench row on cuda: bandwidth %v, want the device probe's", r["bandwidth_bytes_per_second"])
		}
	}

	// glmtool devices: the shim's one device, or, with no driver, the reason (and still exit 0).
	for _, c := range []struct {
		env       []string
		available bool
		want      string
	}{{lib, true, `"compute_capability": "6.1"`}, {noDriver, false, "no NVIDIA driver"}} {
		code, out, stderr := execCLI(t, bin, c.env, "devices", "--json")
		var r struct {
			CPU  struct{ Kernels string }
			CUDA struct {
				Available bool
				Devices   []any
			}
		}
		if code != ExitOK || json.Unmarshal([]byte(out), &r) != nil || r.CPU.Kernels == "" || r.CUDA.Available != c.available ||
			(len(r.CUDA.Devices) > 0) != c.available || !strings.Contains(out, c.want) {
			t.Errorf("devices --json (%v): exit %d, %s %s", c.env, code, out, stderr)
		}
	}

	code, _, stderr = execCLI(t, bin, noDriver, append(args, "--device", "cuda")...)
	if code != ExitFailure || !strings.Contains(stderr, "no NVIDIA driver") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("cuda without a driver: exit %d, stderr %q; want exit %d and one line naming the missing driver", code, stderr, ExitFailure)
	}
	code, autoOut, stderr := execCLI(t, bin, noDriver, append(args, "--device", "auto")...)
	if code != ExitOK || !strings.Contains(stderr, "--device auto: using the CPU") {
		t.Errorf("auto without a driver: exit %d, stderr %q", code, stderr)
	} else if ids(autoOut) != ids(cpuOut) {
		t.Errorf("auto on the CPU gave other ids than cpu")
	}
	code, _, stderr = execCLI(t, bin, nil, append(args, "--device", "tpu")...)
	if code != ExitUsage || !strings.Contains(stderr, "want cpu, cuda or auto") {
		t.Errorf("--device tpu: exit %d, %q", code, stderr)
	}
}
