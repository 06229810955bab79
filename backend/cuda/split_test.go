package cuda_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/backend/cpu"
	"github.com/glmtool/glmtool/backend/cuda"
	"github.com/glmtool/glmtool/backend/cuda/cudatest"
	"github.com/glmtool/glmtool/backend/split"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/testenv"
)

// TestSplitMatchesCPU: with 0, 1 and 2 of the 2 blocks on the GPU (backend/split, --gpu-layers) the logits
// are the CPU's: within 2e-3 for F32 weights, within 0.25 for Q4_0 (where the CPU quantizes activations);
// ChatGLM-6B's graph with a P-Tuning prefix (stored into both halves of the cache) as well.
func TestSplitMatchesCPU(t *testing.T) {
	td := testenv.TestData(t)
	ptuned := func(t *testing.T) string {
		testenv.Path(t, "hf", "chatglm-6b-tiny")
		out := filepath.Join(t.TempDir(), "m.gguf")
		opt := convert.Options{OutType: "f32", Threads: 2, PTuning: testenv.Path(t, "ptuning", "chatglm-6b-tiny")}
		if _, err := convert.Checkpoint(context.Background(), filepath.Join(td, "hf", "chatglm-6b-tiny"), out, opt); err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name string
		path func(t *testing.T) string
		tol  float64
	}{
		{"chatglm3 f32", func(t *testing.T) string { return testenv.Path(t, "gguf", "chatglm3-tiny-f32.gguf") }, 2e-3},
		{"chatglm3 Q4_0", func(t *testing.T) string { return testenv.Path(t, "gguf", "chatglm3-tiny-Q4_0.gguf") }, 0.25},
		{"chatglm-6b f32 + p-tuning", ptuned, 2e-3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path(t)
			cm, err := infer.Load(path, infer.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer cm.Close()
			want := evalAll(t, cm, infer.KVF32)
			for _, n := range []int{0, 1, 2} {
				t.Run(fmt.Sprintf("%d GPU layers", n), func(t *testing.T) {
					gb, err := cuda.New(cudatest.Options(t))
					if err != nil {
						t.Fatal(err)
					}
					cb, err := cpu.New(2)
					if err != nil {
						t.Fatal(err)
					}
					sb, err := split.New(cb, gb, n)
					if err != nil {
						t.Fatal(err)
					}
					m, err := infer.Load(path, infer.Options{Backend: sb})
					if err != nil {
						t.Fatal(err)
					}
					defer m.Close()
					worst := within(t, "split against cpu", evalAll(t, m, infer.KVF32), want, tc.tol)
					v, _ := m.VRAM()
					t.Logf("%s: worst |Δ| %.3g (bound %.3g), %d bytes on the GPU", m.Backend(), worst, tc.tol, v.Held)
				})
			}
		})
	}
}
