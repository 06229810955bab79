package quantize

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tensor"
)

// TestMatchesLlamaQuantize quantizes the f32/f16 fixtures and compares the whole output file with the one
// llama-quantize wrote: metadata, tensor order, per-tensor types and every data byte. Each case runs at
// several thread counts, which must not change a byte.
func TestMatchesLlamaQuantize(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	cases := []struct{ source, target, want string }{
		{"chatglm3-tiny-f32.gguf", "q4_0", "chatglm3-tiny-Q4_0.gguf"},
		{"chatglm3-tiny-f32.gguf", "q4_1", "chatglm3-tiny-Q4_1.gguf"},
		{"chatglm3-tiny-f32.gguf", "q5_0", "chatglm3-tiny-Q5_0.gguf"},
		{"chatglm3-tiny-f32.gguf", "q5_1", "chatglm3-tiny-Q5_1.gguf"},
		{"chatglm3-tiny-f32.gguf", "q8_0", "chatglm3-tiny-Q8_0.gguf"},
		{"chatglm3-tiny-f32.gguf", "q4_k_m", "chatglm3-tiny-Q4_K_M.gguf"},
		{"chatglm3-tiny-f32.gguf", "q6_k", "chatglm3-tiny-Q6_K.gguf"},
		{"glm4-tiny-bpe-f16.gguf", "q8_0", "glm4-tiny-bpe-Q8_0.gguf"},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, c.want))
			if err != nil {
				t.Fatal(err)
			}
			in, err := gguf.Open(filepath.Join(dir, c.source))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			target, err := ParseTarget(c.target)
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2, 7} {
				out := filepath.Join(t.TempDir(), "out.gguf")
				if _, err := File(context.Background(), in, out, Options{Target: target}, RunOptions{Threads: threads}); err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("threads=%d: output (%d bytes) differs from llama-quantize's %s (%d bytes)%s", threads, len(got), c.want, len(want), firstDiff(t, got, want))
				}
			}
		})
	}
}

// firstDiff names the first tensor or header field that differs, to make a failure readable.
func firstDiff(t *testing.T, got, want []byte) string {
	g, err1 := gguf.Parse("got", got)
	w, err2 := gguf.Parse("want", want)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf(" (parse: %v, %v)", err1, err2)
	}
	for i, kv := range w.Meta.KVs() {
		if i >= g.Meta.Len() || g.Meta.KVs()[i].Key != kv.Key || !g.Meta.KVs()[i].Value.Equal(kv.Value) {
			return fmt.Sprintf("; first metadata difference at kv[%d] %s", i, kv.Key)
		}
	}
	for i := range w.Tensors {
		if i >= len(g.Tensors) {
			return "; missing tensors"
		}
		gt, wt := g.Tensors[i], w.Tensors[i]
		if gt.Name != wt.Name || gt.Type != wt.Type {
			return fmt.Sprintf("; tensor[%d] is %s %s, want %s %s", i, gt.Name, gt.Type, wt.Name, wt.Type)
		}
		if !bytes.Equal(g.Data(&gt), w.Data(&wt)) {
			return fmt.Sprintf("; tensor %s (%s) data differ", gt.Name, gt.Type)
		}
	}
	return ""
}

// chatglm3Tensors lists the tensors of a ChatGLM3-6B-shaped file in llama.cpp's naming.
func chatglm3Tensors(layers int, typ tensor.Type) []gguf.TensorInfo {
	ts := []gguf.TensorInfo{{Name: "token_embd.weight", Type: typ, Shape: tensor.Shape{4096, 65024}}}
	for l := range layers {
		p := fmt.Sprintf("blk.%d.", l)
		ts = append(ts,
			gguf.TensorInfo{Name: p + "attn_norm.weight", Type: tensor.F32, Shape: tensor.Shape{4096}},
			gguf.TensorInfo{Name: p + "attn_qkv.weight", Type: typ, Shape: tensor.Shape{4096, 4608}},
			gguf.TensorInfo{Name: p + "attn_qkv.bias", Type: tensor.F32, Shape: tensor.Shape{4608}},
			gguf.TensorInfo{Name: p + "attn_output.weight", Type: typ, Shape: tensor.Shape{4096, 4096}},
			gguf.TensorInfo{Name: p + "ffn_norm.weight", Type: tensor.F32, Shape: tensor.Shape{4096}},
			gguf.TensorInfo{Name: p + "ffn_up.weight", Type: typ, Shape: tensor.Shape{4096, 27392}},
			gguf.TensorInfo{Name: p + "ffn_down.weight", Type: typ, Shape: tensor.Shape{13696, 4096}},
		)
	}
	return append(ts, gguf.TensorInfo{Name: "output_norm.weight", Type: tensor.F32, Shape: tensor.Shape{4096}},
		gguf.TensorInfo{Name: "output.weight", Type: typ, Shape: tensor.Shape{4096, 65024}})
}

// TestPlanChatGLM3 checks the per-tensor types for the real ChatGLM3-6B shapes (gguf-and-quants.md §9).
func TestPlanChatGLM3(t *testing.T) {
	q8 := tensor.Q8_0
	cases := []struct {
		target string
		opt    func(*Options)
		want   map[string]tensor.Type // tensor → type; checked for every tensor named
	}{
		{"q4_0", nil, map[string]tensor.Type{"output.weight": tensor.Q6_K, "token_embd.weight": tensor.Q4_0, "blk.0.ffn_down.weight": tensor.Q4_0,
			"blk.0.attn_qkv.weight": tensor.Q4_0, "blk.0.attn_qkv.bias": tensor.F32, "blk.27.ffn_norm.weight": tensor.F32}},
		{"q8_0", nil, map[string]tensor.Type{"output.weight": tensor.Q8_0, "token_embd.weight": tensor.Q8_0, "blk.3.ffn_up.weight": tensor.Q8_0}},
		{"q4_k_m", nil, map[string]tensor.Type{"output.weight": tensor.Q6_K, "token_embd.weight": tensor.Q4_K, "blk.0.attn_qkv.weight": tensor.Q5_K,
			"blk.0.attn_output.weight": tensor.Q4_K, "blk.0.ffn_up.weight": tensor.Q4_K,
			// ffn_down rows (13696) are not a multiple of 256: Q6_K layers fall back to Q8_0, Q4_K ones to Q5_0.
			"blk.0.ffn_down.weight": tensor.Q8_0, "blk.2.ffn_down.weight": tensor.Q8_0, "blk.3.ffn_down.weight": tensor.Q5_0,
			"blk.5.ffn_down.weight": tensor.Q8_0, "blk.6.ffn_down.weight": tensor.Q5_0, "blk.26.ffn_down.weight": tensor.Q8_0}},
		{"q4_k_s", nil, map[string]tensor.Type{"blk.0.ffn_down.weight": tensor.Q5_1, "blk.3.ffn_down.weight": tensor.Q5_0, "blk.0.attn_qkv.weight": tensor.Q4_K}},
		{"q5_k_m", nil, map[string]tensor.Type{"blk.0.attn_qkv.weight": tensor.Q6_K, "blk.0.ffn_down.weight": tensor.Q8_0, "blk.3.ffn_down.weight": tensor.Q5_1}},
		{"q6_k", nil, map[string]tensor.Type{"output.weight": tensor.Q6_K, "blk.3.ffn_down.weight": tensor.Q8_0}},
		{"q4_0", func(o *Options) { o.Pure = true }, map[string]tensor.Type{"output.weight": tensor.Q4_0, "blk.0.ffn_down.weight": tensor.Q4_0}},
		{"q4_0", func(o *Options) { o.OutputType = &q8; o.EmbdType = &q8 }, map[string]tensor.Type{"output.weight": tensor.Q8_0, "token_embd.weight": tensor.Q8_0}},
		{"f16", nil, map[string]tensor.Type{"output.weight": tensor.F16, "blk.0.attn_norm.weight": tensor.F32}},
	}
	for _, c := range cases {
		target, err := ParseTarget(c.target)
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Target: target}
		if c.opt != nil {
			c.opt(&opt)
		}
		plan, err := Plan(chatglm3Tensors(28, tensor.F16), 28, opt)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]tensor.Type{}
		for _, d := range plan {
			got[d.Name] = d.To
		}
		for name, want := range c.want {
			if got[name] != want {
				t.Errorf("%s (pure=%v): %s → %s, want %s", c.target, opt.Pure, name, got[name], want)
			}
		}
	}
}

func TestOutputOrder(t *testing.T) {
	var in []gguf.TensorInfo
	for _, n := range []string{"blk.10.ffn_up.weight", "token_embd.weight", "blk.9.attn_norm.weight", "output.weight", "blk.2.x", "output_norm.weight"} {
		in = append(in, gguf.TensorInfo{Name: n})
	}
	var names []string
	for _, t := range OutputOrder(in) {
		names = append(names, t.Name)
	}
	want := "output.weight output_norm.weight token_embd.weight blk.2.x blk.9.attn_norm.weight blk.10.ffn_up.weight"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
}

func TestErrors(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	q4, _ := ParseTarget("q4_0")
	tmp := t.TempDir()

	// An already quantized input is refused without --allow-requantize, and no output appears.
	in, err := gguf.Open(filepath.Join(dir, "chatglm3-tiny-Q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out := filepath.Join(tmp, "re.gguf")
	_, err = File(context.Background(), in, out, Options{Target: q4}, RunOptions{Threads: 2})
	if err == nil || !strings.Contains(err.Error(), `tensor "output.weight" is already quantized (Q8_0); requantizing loses quality, pass --allow-requantize`) {
		t.Fatalf("requantize error = %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("output exists after a refused run: %v", err)
	}
	if _, err := File(context.Background(), in, out, Options{Target: q4, AllowRequantize: true}, RunOptions{Threads: 2}); err != nil {
		t.Fatalf("with AllowRequantize: %v", err)
	}

	// Output equal to input, by any path.
	src := filepath.Join(dir, "chatglm3-tiny-f32.gguf")
	if err := Check(src, filepath.Join(dir, ".", "chatglm3-tiny-f32.gguf")); err == nil || !strings.Contains(err.Error(), "is the input file") {
		t.Fatalf("same-file check: %v", err)
	}
	if _, err := ParseTarget("q3_k_xl"); err == nil || !strings.Contains(err.Error(), `unknown quantization type "q3_k_xl" (want one of`) {
		t.Fatalf("ParseTarget: %v", err)
	}

	// A cancelled run leaves nothing behind.
	f32, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cancelled := filepath.Join(tmp, "cancelled.gguf")
	if _, err := File(ctx, f32, cancelled, Options{Target: q4}, RunOptions{Threads: 2}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if e.Name() != "re.gguf" {
			t.Errorf("unexpected file %s left in the output directory", e.Name())
		}
	}
}

// TestStats checks that --stats measures the error against a float64 recomputation.
func TestStats(t *testing.T) {
	src := testenv.Path(t, "gguf", "chatglm3-tiny-f32.gguf")
	in, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	q8, _ := ParseTarget("q8_0")
	rep, err := File(context.Background(), in, filepath.Join(t.TempDir(), "o.gguf"), Options{Target: q8}, RunOptions{Threads: 2, Stats: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range rep.Tensors {
		if !tr.Requantize() {
			continue
		}
		info, _ := in.Tensor(tr.Name)
		x := make([]float32, info.Shape.Elements())
		_ = tensor.Dequantize(tensor.F32, in.Data(info), x)
		q := make([]byte, tr.OutBytes)
		_ = tensor.Quantize(tr.To, x, q)
		y := make([]float32, len(x))
		_ = tensor.Dequantize(tr.To, q, y)
		var sq, mx float64
		for i := range x {
			e := float64(y[i]) - float64(x[i])
			sq += e * e
			mx = max(mx, math.Abs(e))
		}
		rmse := math.Sqrt(sq / float64(len(x)))
		if math.Abs(rmse-tr.RMSE) > 1e-9*rmse || mx != tr.MaxAbsErr || rmse == 0 {
			t.Errorf("%s: rmse %g max %g, want %g %g", tr.Name, tr.RMSE, tr.MaxAbsErr, rmse, mx)
		}
	}
}
