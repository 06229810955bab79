package convert

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/internal/testenv"
)

// TestPTuningRefusals: a P-Tuning checkpoint that cannot be stored faithfully is refused, naming why; a
// full checkpoint holding a prefix encoder keeps it (never dropped silently).
func TestPTuningRefusals(t *testing.T) {
	td := testenv.TestData(t)
	base := filepath.Join(td, "hf", "chatglm3-6b-tiny")
	good := filepath.Join(td, "ptuning", "chatglm3-6b-tiny")
	ckpt := func(edit func(map[string]any), tensors ...hfwrite.Tensor) string {
		return editedFolder(t, good, "config.json", edit, "pytorch_model.bin", "model.safetensors", tensors)
	}
	f32 := zeroF32
	for _, c := range []struct{ name, dir, want string }{
		{"prefix_projection", ckpt(func(c map[string]any) { c["prefix_projection"] = true }), "prefix_projection"},
		{"pre_seq_len differs", ckpt(func(c map[string]any) { c["pre_seq_len"] = 16 }), "pre_seq_len 16"},
		{"wrong width", ckpt(func(map[string]any) {}, f32(prefixEncoderName, 8, 100)), "want [pre_seq_len, 144]"},
		{"projection weights", ckpt(func(map[string]any) {}, f32(prefixEncoderName, 8, 144), f32("transformer.prefix_encoder.trans.0.weight", 4, 4)), "prefix_projection"},
		{"no prefix", ckpt(func(map[string]any) {}, f32("other", 2)), "holds no"},
	} {
		_, err := Checkpoint(context.Background(), base, filepath.Join(t.TempDir(), "m.gguf"), Options{OutType: "f32", PTuning: c.dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// TestFullCheckpointKeepsItsPrefix: a checkpoint whose shards hold the prefix encoder (a full fine-tune
// saved with its prefix) converts with the prefix stored, without --ptuning.
func TestFullCheckpointKeepsItsPrefix(t *testing.T) {
	td := testenv.TestData(t)
	base := filepath.Join(td, "hf", "chatglm3-6b-tiny")
	pt, err := OpenWeights(filepath.Join(td, "ptuning", "chatglm3-6b-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	defer pt.Close()
	prefix, _ := pt.Tensor(prefixEncoderName)
	dir := t.TempDir()
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		if e.Name() != "model.safetensors.index.json" {
			if err := os.Symlink(filepath.Join(base, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(base, "model.safetensors.index.json"))
	if err != nil {
		t.Skipf("the base fixture is not a sharded safetensors checkpoint: %v", err)
	}
	var idx map[string]any
	_ = json.Unmarshal(raw, &idx)
	idx["weight_map"].(map[string]any)[prefixEncoderName] = "prefix.safetensors"
	b, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := hfwrite.WriteSafetensors(filepath.Join(dir, "prefix.safetensors"), []hfwrite.Tensor{{Name: prefixEncoderName, DType: "F32",
		Shape: prefix.Shape, Fill: hfwrite.Data(prefix.Bytes())}}); err != nil {
		t.Fatal(err)
	}
	rep, err := Checkpoint(context.Background(), dir, filepath.Join(t.TempDir(), "m.gguf"), Options{OutType: "f32"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PrefixLen != 8 || rep.Params.PrefixLen != 8 {
		t.Errorf("prefix of %d slots stored, want 8", rep.PrefixLen)
	}
}
