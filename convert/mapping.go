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

// tensorMaps lists every tensor a family's file holds, in the order they are written.
func tensorMaps(p arch.Params) []tensorMap {
	e, v := int64(p.Embedding), int64(p.Vocab)
	qkv, up, ff := int64(p.QKVRows()), int64(p.FFNUpRows()), int64(p.FeedForward)
	if p.Family == arch.FamilyChatGLM1 {
		maps := []tensorMap{{arch.TokenEmbd, "transformer.word_embeddings.weight", []int64{v, e}}}
		for l := range p.Blocks {
			h := fmt.Sprintf("transformer.layers.%d.", l)
			maps = append(maps,
				tensorMap{arch.AttnNorm(l), h + "input_layernorm.weight", []int64{e}},
				tensorMap{arch.AttnNormBias(l), h + "input_layernorm.bias", []int64{e}},
				tensorMap{arch.AttnQKV(l), h + "attention.query_key_value.weight", []int64{qkv, e}},
				tensorMap{arch.AttnQKVBias(l), h + "attention.query_key_value.bias", []int64{qkv}},
				tensorMap{arch.AttnOutput(l), h + "attention.dense.weight", []int64{e, e}},
				tensorMap{arch.AttnOutputBias(l), h + "attention.dense.bias", []int64{e}},
				tensorMap{arch.FFNNorm(l), h + "post_attention_layernorm.weight", []int64{e}},
				tensorMap{arch.FFNNormBias(l), h + "post_attention_layernorm.bias", []int64{e}},
				tensorMap{arch.FFNUp(l), h + "mlp.dense_h_to_4h.weight", []int64{up, e}},
				tensorMap{arch.FFNUpBias(l), h + "mlp.dense_h_to_4h.bias", []int64{up}},
				tensorMap{arch.FFNDown(l), h + "mlp.dense_4h_to_h.weight", []int64{e, ff}},
				tensorMap{arch.FFNDownBias(l), h + "mlp.dense_4h_to_h.bias", []int64{e}},
			)
		}
		return append(maps,
			tensorMap{arch.OutputNorm, "transformer.final_layernorm.weight", []int64{e}},
			tensorMap{arch.OutputNormBias, "transformer.final_layernorm.bias", []int64{e}},
			tensorMap{arch.Output, "lm_head.weight", []int64{v, e}},
		)
	}
	maps := []tensorMap{{arch.TokenEmbd, "transformer.embedding.word_embeddings.weight", []int64{v, e}}}
	for l := range p.Blocks {
		h := fmt.Sprintf("transformer.encoder.layers.%d.", l)
		maps = append(maps,
			tensorMap{arch.AttnNorm(l), h + "input_layernorm.weight", []int64{e}},
			tensorMap{arch.AttnQKV(l), h + "self_attention.query_key_value.weight", []int64{qkv, e}},
			tensorMap{arch.AttnQKVBias(l), h + "self_attention.query_key_value.bias", []int64{qkv}},
			tensorMap{arch.AttnOutput(l), h + "self_attention.dense.weight", []int64{e, e}},
			tensorMap{arch.FFNNorm(l), h + "post_attention_layernorm.weight", []int64{e}},
			tensorMap{arch.FFNUp(l), h + "mlp.dense_h_to_4h.weight", []int64{up, e}},
			tensorMap{arch.FFNDown(l), h + "mlp.dense_4h_to_h.weight", []int64{e, ff}},
		)
	}
	return append(maps,
		tensorMap{arch.OutputNorm, "transformer.encoder.final_layernorm.weight", []int64{e}},
		tensorMap{arch.Output, "transformer.output_layer.weight", []int64{v, e}},
	)
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
