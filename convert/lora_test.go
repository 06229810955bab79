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

// TestLoRARefusals: adapter features that change the math and are not implemented, and adapters that do
// not fit the base, are refused with an error that names them.
func TestLoRARefusals(t *testing.T) {
	src := filepath.Join(testenv.TestData(t), "lora", "glm-4-9b-chat-tiny")
	adapter := func(edit func(map[string]any), extra ...hfwrite.Tensor) string {
		return editedFolder(t, src, "adapter_config.json", edit, "adapter_model.safetensors", "adapter_model.safetensors", extra)
	}
	base := filepath.Join(testenv.TestData(t), "hf", "glm-4-9b-chat-tiny")
	f32 := zeroF32
	mod := "base_model.model.transformer.encoder.layers.0.self_attention.query_key_value"
	cases := []struct {
		name, dir, want string
	}{
		{"DoRA", adapter(func(c map[string]any) { c["use_dora"] = true }), "use_dora"},
		{"fan_in_fan_out", adapter(func(c map[string]any) { c["fan_in_fan_out"] = true }), "fan_in_fan_out"},
		{"trained biases", adapter(func(c map[string]any) { c["bias"] = "all" }), "bias"},
		{"modules_to_save", adapter(func(c map[string]any) { c["modules_to_save"] = []string{"output_layer"} }), "modules_to_save"},
		{"rank_pattern", adapter(func(c map[string]any) { c["rank_pattern"] = map[string]int{"dense": 4} }), "rank_pattern"},
		{"regex targets", adapter(func(c map[string]any) { c["target_modules"] = ".*dense.*" }), "regular expression"},
		{"not LoRA", adapter(func(c map[string]any) { c["peft_type"] = "PREFIX_TUNING" }), "PREFIX_TUNING"},
		{"rank differs", adapter(func(c map[string]any) { c["r"] = 4 }), "rank"},
		{"target not in the base", adapter(func(c map[string]any) {
			c["target_modules"] = []string{"query_key_value", "dense", "dense_h_to_4h", "dense_4h_to_h", "w_pack"}
		}), "w_pack"},
		{"module not targeted", adapter(func(c map[string]any) { c["target_modules"] = []string{"dense"} }), "not in target_modules"},
		{"shape mismatch", adapter(func(c map[string]any) { c["target_modules"] = []string{"query_key_value"} },
			f32(mod+".lora_A.weight", 8, 40), f32(mod+".lora_B.weight", 96, 8)), "do not fit"},
		{"module not in the base", adapter(func(c map[string]any) { c["target_modules"] = []string{"query_key_value"} },
			f32("base_model.model.transformer.encoder.layers.9.self_attention.query_key_value.lora_A.weight", 8, 48),
			f32("base_model.model.transformer.encoder.layers.9.self_attention.query_key_value.lora_B.weight", 96, 8)), "not in the base model"},
		{"an embedding adapter", adapter(func(c map[string]any) {}, f32("base_model.model.transformer.embedding.word_embeddings.lora_embedding_A", 8, 10)), "not a LoRA A or B"},
		{"half a pair", adapter(func(c map[string]any) { c["target_modules"] = []string{"query_key_value"} }, f32(mod+".lora_A.weight", 8, 48)), "only one of"},
	}
	for _, c := range cases {
		_, err := Checkpoint(context.Background(), base, filepath.Join(t.TempDir(), "m.gguf"), Options{OutType: "f32", LoRA: c.dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

// zeroF32 is an all-zero F32 checkpoint tensor.
func zeroF32(name string, shape ...int64) hfwrite.Tensor {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return hfwrite.Tensor{Name: name, DType: "F32", Shape: shape, Fill: hfwrite.Data(make([]byte, 4*n))}
}

// editedFolder copies a fixture folder's JSON config (configName) with edit applied into a new folder,
// with either the fixture's weights file keep linked in, or, when tensors are given, a safetensors file
// written of them (named written).
func editedFolder(t *testing.T, src, configName string, edit func(map[string]any), keep, written string, tensors []hfwrite.Tensor) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(src, configName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	b, _ := json.Marshal(c)
	if err := os.WriteFile(filepath.Join(dir, configName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if tensors != nil {
		if err := hfwrite.WriteSafetensors(filepath.Join(dir, written), tensors); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Symlink(filepath.Join(src, keep), filepath.Join(dir, keep)); err != nil {
		t.Fatal(err)
	}
	return dir
}
