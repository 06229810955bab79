package gguf

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// sampleMeta has one value of every type, arrays included.
func sampleMeta() *Metadata {
	return NewMetadata(
		KV{"general.architecture", String("chatglm")},
		KV{"u8", Uint8(200)}, KV{"i8", Int8(-5)}, KV{"u16", Uint16(60000)}, KV{"i16", Int16(-30000)},
		KV{"u32", Uint32(4000000000)}, KV{"i32", Int32(-2000000000)}, KV{"f32", Float32(1.5625e-07)},
		KV{"bool", Bool(true)}, KV{"u64", Uint64(1 << 60)}, KV{"i64", Int64(-1 << 60)}, KV{"f64", Float64(-2.5)},
		KV{"tokens", Array([]string{"<unk>", "▁你好", ""})}, KV{"scores", Array([]float32{0, -1.25, 3})},
		KV{"types", Array([]int32{2, 1, 6})}, KV{"flags", Array([]bool{true, false})},
		KV{"bytes", Array([]uint8{1, 2, 3})}, KV{"big", Array([]uint64{1, 1 << 63})},
	)
}

func sampleTensors(rng *rand.Rand) []TensorSource {
	specs := []struct {
		name  string
		typ   tensor.Type
		shape tensor.Shape
	}{
		{"token_embd.weight", tensor.F16, tensor.Shape{64, 10}},
		{"blk.0.attn_norm.weight", tensor.F32, tensor.Shape{64}},
		{"blk.0.attn_qkv.weight", tensor.Q4_0, tensor.Shape{64, 3}},
		{"output.weight", tensor.Q6_K, tensor.Shape{256, 2}},
		{"odd", tensor.I8, tensor.Shape{5, 1, 1, 3}},
	}
	out := make([]TensorSource, len(specs))
	for i, s := range specs {
		n, _ := s.typ.Bytes(s.shape)
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		out[i] = TensorSource{Name: s.name, Type: s.typ, Shape: s.shape, WriteTo: func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		}}
	}
	return out
}

func collect(t *testing.T, src []TensorSource) map[string][]byte {
	m := map[string][]byte{}
	for _, s := range src {
		var b bytes.Buffer
		if err := s.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		m[s.Name] = b.Bytes()
	}
	return m
}

// TestRoundTripShuffled writes with tensors and keys in a random order, reads back and compares everything.
func TestRoundTripShuffled(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 1))
		src := sampleTensors(rng)
		rng.Shuffle(len(src), func(i, j int) { src[i], src[j] = src[j], src[i] })
		kvs := append([]KV(nil), sampleMeta().KVs()...)
		rng.Shuffle(len(kvs), func(i, j int) { kvs[i], kvs[j] = kvs[j], kvs[i] })
		meta := NewMetadata(kvs...)
		if seed%2 == 1 {
			meta.Set(KeyAlignment, Uint32(64))
		}
		var buf bytes.Buffer
		if err := Write(context.Background(), &buf, meta, src); err != nil {
			t.Fatal(err)
		}
		f, err := Parse("mem", buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if f.Meta.Len() != meta.Len() {
			t.Fatalf("%d keys, want %d", f.Meta.Len(), meta.Len())
		}
		for i, kv := range meta.KVs() {
			got := f.Meta.KVs()[i]
			if got.Key != kv.Key || !got.Value.Equal(kv.Value) {
				t.Errorf("kv[%d] = %s %v, want %s %v", i, got.Key, got.Value, kv.Key, kv.Value)
			}
		}
		want := collect(t, src)
		for i, s := range src {
			ti := f.Tensors[i]
			if ti.Name != s.Name || ti.Type != s.Type || !ti.Shape.Equal(s.Shape) {
				t.Errorf("tensor[%d] = %s %s %v, want %s %s %v", i, ti.Name, ti.Type, ti.Shape, s.Name, s.Type, s.Shape)
			}
			if ti.Offset%f.Alignment != 0 {
				t.Errorf("%s: offset %d not aligned to %d", ti.Name, ti.Offset, f.Alignment)
			}
			if !bytes.Equal(f.Data(&ti), want[s.Name]) {
				t.Errorf("%s: data differ", s.Name)
			}
		}
		// Writing the parsed file again is byte-identical.
		var again bytes.Buffer
		if err := Write(context.Background(), &again, f.Meta, f.Sources()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), buf.Bytes()) {
			t.Fatal("second write differs from the first")
		}
	}
}

func TestWriteRejects(t *testing.T) {
	ok := func(io.Writer) error { return nil }
	cases := []struct {
		name    string
		meta    *Metadata
		tensors []TensorSource
		want    string
	}{
		{"long name", NewMetadata(), []TensorSource{{Name: strings.Repeat("n", 64), Type: tensor.F32, Shape: tensor.Shape{1}, WriteTo: ok}},
			`tensor name "` + strings.Repeat("n", 64) + `" is longer than 63 bytes`},
		{"duplicate", NewMetadata(), []TensorSource{{Name: "a", Type: tensor.F32, Shape: tensor.Shape{1}, WriteTo: ok}, {Name: "a", Type: tensor.F32, Shape: tensor.Shape{1}, WriteTo: ok}},
			`duplicate tensor name "a"`},
		{"block multiple", NewMetadata(), []TensorSource{{Name: "a", Type: tensor.Q8_0, Shape: tensor.Shape{33}, WriteTo: ok}},
			`tensor "a": Q8_0: row of 33 elements is not a multiple of the block size 32`},
		{"alignment", NewMetadata(KV{KeyAlignment, Uint32(3)}), nil, "general.alignment must be a uint32 power of two, got uint32 3"},
		{"short producer", NewMetadata(), []TensorSource{{Name: "a", Type: tensor.F32, Shape: tensor.Shape{4}, WriteTo: func(w io.Writer) error {
			_, err := w.Write(make([]byte, 15))
			return err
		}}}, `tensor "a": producer wrote 15 bytes, want 16`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(context.Background(), io.Discard, c.meta, c.tensors)
			if err == nil || err.Error() != c.want {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestWriteFileAtomic checks that a failed or cancelled write leaves no partial file and keeps the old one.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	failing := []TensorSource{
		{Name: "a", Type: tensor.F32, Shape: tensor.Shape{1 << 20}, WriteTo: func(w io.Writer) error {
			_, err := w.Write(make([]byte, 4<<20))
			return err
		}},
		{Name: "b", Type: tensor.F32, Shape: tensor.Shape{1}, WriteTo: func(io.Writer) error { return boom }},
	}
	if err := WriteFile(context.Background(), path, NewMetadata(), failing); !errors.Is(err, boom) {
		t.Fatalf("error %v, want boom", err)
	}
	cancelling := []TensorSource{{Name: "a", Type: tensor.F32, Shape: tensor.Shape{4 << 20}, WriteTo: func(w io.Writer) error {
		for i := range 16 {
			if i == 3 {
				cancel()
			}
			if _, err := w.Write(make([]byte, 1<<20)); err != nil {
				return err
			}
		}
		return nil
	}}}
	if err := WriteFile(ctx, path, NewMetadata(), cancelling); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the original file", len(entries))
	}
	if b, _ := os.ReadFile(path); string(b) != "old contents" {
		t.Fatalf("original file changed to %q", b)
	}
	if err := WriteFile(context.Background(), path, sampleMeta(), sampleTensors(rand.New(rand.NewPCG(1, 2)))); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(f.Tensors) != 5 {
		t.Fatalf("%d tensors after a successful write", len(f.Tensors))
	}
}
