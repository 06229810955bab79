// Command mkhf writes a Hugging Face-layout checkpoint folder with random fp16 weights of a real model
// shape: config.json, sharded safetensors or PyTorch .bin files with their index, and optionally a real
// tokenizer.model. It is the input of the conversion memory benchmark (docs/BENCHMARKS.md).
//
//	go run ./scripts/mkhf -preset chatglm3-6b -format safetensors -shards 7 -tokenizer ../shared/testdata/hf/chatglm3-6b-tiny/tokenizer.model -o /tmp/c3-hf
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/tensor"
)

func main() {
	preset := flag.String("preset", "chatglm3-6b", "model shape: chatglm3-6b or glm4-9b")
	format := flag.String("format", "safetensors", "safetensors or pytorch")
	shards := flag.Int("shards", 7, "number of shards")
	layers := flag.Int("layers", 0, "number of layers (default: the real count)")
	tokenizer := flag.String("tokenizer", "", "tokenizer.model to copy into the folder")
	out := flag.String("o", "", "output folder (created)")
	flag.Parse()
	if err := run(*preset, *format, *shards, *layers, *tokenizer, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkhf:", err)
		os.Exit(1)
	}
}

func run(preset, format string, shards, layers int, tokenizer, out string) error {
	if out == "" {
		return fmt.Errorf("give -o DIR")
	}
	cfg := map[string]any{"model_type": "chatglm", "architectures": []string{"ChatGLMModel"}, "hidden_size": 4096,
		"num_attention_heads": 32, "kv_channels": 128, "multi_query_attention": true, "multi_query_group_num": 2,
		"ffn_hidden_size": 13696, "layernorm_epsilon": 1e-5, "torch_dtype": "float16", "eos_token_id": 2, "pad_token_id": 0}
	switch preset {
	case "chatglm3-6b":
		cfg["_name_or_path"], cfg["num_layers"], cfg["padded_vocab_size"], cfg["seq_length"] = "THUDM/chatglm3-6b", 28, 65024, 8192
	case "glm4-9b":
		cfg["_name_or_path"], cfg["num_layers"], cfg["padded_vocab_size"], cfg["seq_length"] = "THUDM/glm-4-9b-chat", 40, 151552, 131072
		cfg["rope_ratio"], cfg["layernorm_epsilon"], cfg["eos_token_id"] = 500, 1.5625e-07, []int{151329, 151336, 151338}
	default:
		return fmt.Errorf("unknown preset %q", preset)
	}
	if layers > 0 {
		cfg["num_layers"] = layers
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(out, "config.json"), raw, 0o644); err != nil {
		return err
	}
	if tokenizer != "" {
		data, err := os.ReadFile(tokenizer)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "tokenizer.model"), data, 0o644); err != nil {
			return err
		}
	}
	// One megabyte of random small fp16 values, repeated: the benchmark measures I/O and memory, not values.
	pattern := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(pattern); i += 2 {
		binary.LittleEndian.PutUint16(pattern[i:], tensor.F32ToF16(float32(rng.NormFloat64()*0.02)))
	}
	fill := func(n int64) func(io.Writer) error {
		return func(w io.Writer) error {
			for n > 0 {
				k := min(n, int64(len(pattern)))
				if _, err := w.Write(pattern[:k]); err != nil {
					return err
				}
				n -= k
			}
			return nil
		}
	}
	e, v, nl := int64(4096), int64(cfg["padded_vocab_size"].(int)), cfg["num_layers"].(int)
	t := func(name string, shape ...int64) hfwrite.Tensor {
		n := int64(2)
		for _, d := range shape {
			n *= d
		}
		return hfwrite.Tensor{Name: name, DType: "F16", Shape: shape, Fill: fill(n)}
	}
	ts := []hfwrite.Tensor{t("transformer.embedding.word_embeddings.weight", v, e), t("transformer.rotary_pos_emb.inv_freq", 32)}
	for l := range nl {
		p := fmt.Sprintf("transformer.encoder.layers.%d.", l)
		ts = append(ts, t(p+"input_layernorm.weight", e), t(p+"self_attention.query_key_value.weight", 4608, e),
			t(p+"self_attention.query_key_value.bias", 4608), t(p+"self_attention.dense.weight", e, e),
			t(p+"post_attention_layernorm.weight", e), t(p+"mlp.dense_h_to_4h.weight", 27392, e), t(p+"mlp.dense_4h_to_h.weight", e, 13696))
	}
	ts = append(ts, t("transformer.encoder.final_layernorm.weight", e), t("transformer.output_layer.weight", v, e))
	return hfwrite.WriteSharded(out, format, ts, shards)
}
