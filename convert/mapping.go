package convert

import (
	"fmt"
	"strings"

	"github.com/glmtool/glmtool/arch"
)

// tensorMap names one GGUF tensor and the checkpoint tensor it comes from, with the PyTorch shape that
// config.json implies. No layout change is needed for any version: fused QKV and gate|up are stored as
// llama.cpp reads them (gguf-and-quants §B.3), and v1's per-head interleaved QKV is kept as HF has it.
type tensorMap struct {
	gguf, hf string
	shape    []int64
}

// hfNames are the Hugging Face checkpoint names of each role, per generation (%d is the layer).
var hfNames = map[bool]map[arch.Role]string{
	true: { // ChatGLM-6B
		arch.RoleTokenEmbd: "transformer.word_embeddings.weight",
		arch.RoleAttnNorm:  "transformer.layers.%d.input_layernorm.weight", arch.RoleAttnNormBias: "transformer.layers.%d.input_layernorm.bias",
		arch.RoleAttnQKV: "transformer.layers.%d.attention.query_key_value.weight", arch.RoleAttnQKVBias: "transformer.layers.%d.attention.query_key_value.bias",
		arch.RoleAttnOutput: "transformer.layers.%d.attention.dense.weight", arch.RoleAttnOutputBias: "transformer.layers.%d.attention.dense.bias",
		arch.RoleFFNNorm: "transformer.layers.%d.post_attention_layernorm.weight", arch.RoleFFNNormBias: "transformer.layers.%d.post_attention_layernorm.bias",
		arch.RoleFFNUp: "transformer.layers.%d.mlp.dense_h_to_4h.weight", arch.RoleFFNUpBias: "transformer.layers.%d.mlp.dense_h_to_4h.bias",
		arch.RoleFFNDown: "transformer.layers.%d.mlp.dense_4h_to_h.weight", arch.RoleFFNDownBias: "transformer.layers.%d.mlp.dense_4h_to_h.bias",
		arch.RoleOutputNorm: "transformer.final_layernorm.weight", arch.RoleOutputNormBias: "transformer.final_layernorm.bias",
		arch.RoleOutput: "lm_head.weight",
	},
	false: { // ChatGLM2-6B, ChatGLM3-6B, GLM-4-9B
		arch.RoleTokenEmbd: "transformer.embedding.word_embeddings.weight",
		arch.RoleAttnNorm:  "transformer.encoder.layers.%d.input_layernorm.weight",
		arch.RoleAttnQKV:   "transformer.encoder.layers.%d.self_attention.query_key_value.weight", arch.RoleAttnQKVBias: "transformer.encoder.layers.%d.self_attention.query_key_value.bias",
		arch.RoleAttnOutput: "transformer.encoder.layers.%d.self_attention.dense.weight",
		arch.RoleFFNNorm:    "transformer.encoder.layers.%d.post_attention_layernorm.weight",
		arch.RoleFFNUp:      "transformer.encoder.layers.%d.mlp.dense_h_to_4h.weight",
		arch.RoleFFNDown:    "transformer.encoder.layers.%d.mlp.dense_4h_to_h.weight",
		arch.RoleOutputNorm: "transformer.encoder.final_layernorm.weight",
		arch.RoleOutput:     "transformer.output_layer.weight",
	},
}

// tensorMaps pairs every tensor of the family's file (arch's registry: names and shapes) with its
// checkpoint name, in the order they are written.
func tensorMaps(p arch.Params) []tensorMap {
	names := hfNames[p.Family == arch.FamilyChatGLM1]
	specs := p.Tensors()
	maps := make([]tensorMap, len(specs))
	for i, s := range specs {
		hf := names[s.Role]
		if s.Layer >= 0 {
			hf = fmt.Sprintf(hf, s.Layer)
		}
		maps[i] = tensorMap{gguf: s.Name, hf: hf, shape: s.Shape}
	}
	return maps
}

// ignoredTensor reports checkpoint tensors that carry nothing the GGUF needs: RoPE frequency buffers
// (recomputed at run time) and P-tuning prefix encoders.
func ignoredTensor(name string) bool {
	return strings.HasSuffix(name, "inv_freq") || strings.Contains(name, "prefix_encoder.")
}

// isQuantizedLinear reports the weights THUDM's int4/int8 checkpoints store quantized (spec §7).
func isQuantizedLinear(hf string) bool {
	for _, s := range []string{"query_key_value.weight", "dense.weight", "dense_h_to_4h.weight", "dense_4h_to_h.weight"} {
		if strings.HasSuffix(hf, s) && !strings.Contains(hf, "word_embeddings") {
			return true
		}
	}
	return false
}
