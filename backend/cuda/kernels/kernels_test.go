package kernels_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/glmtool/glmtool/backend/cuda/kernels"
	"github.com/glmtool/glmtool/backend/cuda/nvrtc"
)

// missing skips for an absent tool, except under CI=true, where .ci/run installs it (scripts/cuda-tools.sh).
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (scripts/cuda-tools.sh installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

var releaseRE = regexp.MustCompile(`Cuda compilation tools, release (\d+\.\d+)`)

// TestPTXMatchesSources: the embedded PTX is what NVRTC makes of the sources today, byte for byte; a
// source edited without `go generate ./backend/cuda/kernels` fails here.
func TestPTXMatchesSources(t *testing.T) {
	c, err := nvrtc.Open()
	if err != nil {
		missing(t, "libnvrtc not found: %v", err)
	}
	defer c.Close()
	v, err := c.Version()
	if err != nil {
		t.Fatal(err)
	}
	embedded := kernels.PTX()
	for _, s := range kernels.Sources() {
		want, ok := embedded[s.Name]
		if !ok {
			t.Fatalf("%s: no embedded PTX (run go generate ./backend/cuda/kernels)", s.Name)
		}
		if m := releaseRE.FindSubmatch(want); m == nil || string(m[1]) != v {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s: embedded PTX is from NVRTC %s, this NVRTC is %s", s.Name, m[1], v)
			}
			t.Skipf("%s: embedded PTX is from another NVRTC than this one (%s): outputs differ by version", s.Name, v)
		}
		got, err := c.Compile(s.Name, s.Text, kernels.Headers(), kernels.CompileOptions())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the embedded PTX does not match the source: run go generate ./backend/cuda/kernels", s.Name)
		}
	}
}

// ptxas finds NVIDIA's PTX assembler: $GLMTOOL_PTXAS, PATH, or where scripts/cuda-tools.sh puts it.
func ptxas() string {
	if p := os.Getenv("GLMTOOL_PTXAS"); p != "" {
		return p
	}
	if p, err := exec.LookPath("ptxas"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cache", "glmtool-cuda", "bin", "ptxas")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// TestPTXAssembles: every embedded module assembles for Pascal (sm_61, the target), Ampere (sm_80) and
// Hopper (sm_90), as the driver's JIT would, with no spilled registers in the matrix kernels.
func TestPTXAssembles(t *testing.T) {
	as := ptxas()
	if as == "" {
		missing(t, "ptxas not found")
	}
	dir := t.TempDir()
	for name, ptx := range kernels.PTX() {
		src := filepath.Join(dir, kernels.PTXName(name))
		if err := os.WriteFile(src, ptx, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, arch := range []string{"sm_61", "sm_80", "sm_90"} {
			out, err := exec.Command(as, "-arch="+arch, "-v", "-o", filepath.Join(dir, "out.cubin"), src).CombinedOutput()
			if err != nil {
				t.Fatalf("ptxas -arch=%s %s: %v\n%s", arch, name, err, out)
			}
			if name == "matmul.cu" && regexp.MustCompile(`[1-9]\d* bytes spill`).Match(out) {
				t.Errorf("ptxas -arch=%s %s: registers spill:\n%s", arch, name, out)
			}
		}
	}
}

// TestEntries: the kernel list the backend looks up covers every type's product and embedding.
func TestEntries(t *testing.T) {
	found := map[string]bool{}
	for _, s := range kernels.Sources() {
		for _, e := range kernels.Entries(s) {
			if found[e] {
				t.Errorf("kernel %s defined twice", e)
			}
			found[e] = true
		}
	}
	for _, typ := range []string{"f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q4_k", "q5_k", "q6_k"} {
		for _, k := range []string{"matmul_", "embed_"} {
			if !found[k+typ] {
				t.Errorf("no kernel %s%s", k, typ)
			}
		}
	}
	for _, k := range []string{"rms_norm", "layer_norm", "add", "scale_add", "swiglu", "gelu", "split_qkv", "rope", "kv_store", "attention"} {
		if !found[k] {
			t.Errorf("no kernel %s", k)
		}
	}
}
