package quantize

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// FuzzQuantizeFile quantizes arbitrary (damaged) GGUF files: whatever the reader accepts must either be
// refused by the planner with an error or quantize to a file that parses again; nothing may panic, and a
// refused run leaves no output.
func FuzzQuantizeFile(f *testing.F) {
	// A one-layer model's tensors, F32 and F16 (the types quantize reads), of sizes every target accepts.
	specs := []struct {
		name  string
		typ   tensor.Type
		shape tensor.Shape
	}{
		{"token_embd.weight", tensor.F16, tensor.Shape{256, 3}},
		{"blk.0.attn_norm.weight", tensor.F32, tensor.Shape{256}},
		{"blk.0.attn_qkv.weight", tensor.F32, tensor.Shape{256, 4}},
		{"blk.0.ffn_down.weight", tensor.F16, tensor.Shape{256, 2}},
		{"output.weight", tensor.F32, tensor.Shape{256, 3}},
	}
	rng := rand.New(rand.NewPCG(3, 3))
	var sources []gguf.TensorSource
	for _, sp := range specs {
		n, _ := sp.typ.Bytes(sp.shape)
		data := make([]byte, n)
		for i := 0; i < len(data); i += 2 {
			data[i] = byte(rng.Uint32()) // small finite values in both F16 and F32
		}
		sources = append(sources, gguf.TensorSource{Name: sp.name, Type: sp.typ, Shape: sp.shape,
			WriteTo: func(w io.Writer) error { _, err := w.Write(data); return err }})
	}
	meta := gguf.NewMetadata(gguf.KV{Key: "general.architecture", Value: gguf.String("chatglm")},
		gguf.KV{Key: "chatglm.block_count", Value: gguf.Uint32(1)}, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(0)})
	var buf bytes.Buffer
	if err := gguf.Write(context.Background(), &buf, meta, sources); err != nil {
		f.Fatal(err)
	}
	for _, target := range []string{"q4_0", "q4_k_m", "q8_0", "q6_k"} {
		f.Add(buf.Bytes(), target)
	}
	f.Fuzz(func(t *testing.T, data []byte, target string) {
		in, err := gguf.Parse("fuzz.gguf", data)
		if err != nil {
			return
		}
		tg, err := ParseTarget(target)
		if err != nil {
			return
		}
		out := filepath.Join(t.TempDir(), "out.gguf")
		if _, err := File(context.Background(), in, out, Options{Target: tg}, RunOptions{Threads: 1}); err != nil {
			if _, statErr := os.Stat(out); statErr == nil {
				t.Fatalf("a failed run (%v) left %s", err, out)
			}
			return
		}
		back, err := gguf.Open(out)
		if err != nil {
			t.Fatalf("quantized output does not parse: %v", err)
		}
		defer back.Close()
		if len(back.Tensors) != len(in.Tensors) {
			t.Fatalf("%d tensors in, %d out", len(in.Tensors), len(back.Tensors))
		}
	})
}
