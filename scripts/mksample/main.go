// Command mksample writes a small GGUF file in llama.cpp's chatglm layout (random F32/F16 weights, a
// synthetic SentencePiece-style vocabulary) for the README's quick start and for trying `glmtool info`.
//
//	go run ./scripts/mksample sample.gguf
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mksample OUT.gguf")
		os.Exit(2)
	}
	if err := write(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}

func write(path string) error {
	const embd, ff, layers, vocab = 256, 512, 2, 512
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for b := range 256 {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	for len(tokens) < vocab {
		tokens = append(tokens, fmt.Sprintf("▁piece%d", len(tokens)))
		types = append(types, 1)
	}
	scores := make([]float32, vocab)
	for i := range scores {
		scores[i] = -float32(i)
	}
	meta := gguf.NewMetadata(
		gguf.KV{Key: "general.architecture", Value: gguf.String("chatglm")},
		gguf.KV{Key: "general.name", Value: gguf.String("glmtool-sample")},
		gguf.KV{Key: "chatglm.context_length", Value: gguf.Uint32(8192)},
		gguf.KV{Key: "chatglm.embedding_length", Value: gguf.Uint32(embd)},
		gguf.KV{Key: "chatglm.feed_forward_length", Value: gguf.Uint32(ff)},
		gguf.KV{Key: "chatglm.block_count", Value: gguf.Uint32(layers)},
		gguf.KV{Key: "chatglm.attention.head_count", Value: gguf.Uint32(8)},
		gguf.KV{Key: "chatglm.attention.head_count_kv", Value: gguf.Uint32(2)},
		gguf.KV{Key: "chatglm.attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
		gguf.KV{Key: "chatglm.rope.dimension_count", Value: gguf.Uint32(16)},
		gguf.KV{Key: "general.file_type", Value: gguf.Uint32(uint32(tensor.FileF16))},
		gguf.KV{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
		gguf.KV{Key: "tokenizer.ggml.tokens", Value: gguf.Array(tokens)},
		gguf.KV{Key: "tokenizer.ggml.scores", Value: gguf.Array(scores)},
		gguf.KV{Key: "tokenizer.ggml.token_type", Value: gguf.Array(types)},
		gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
	)
	rng := rand.New(rand.NewPCG(42, 42))
	f16 := func(n int64) func(io.Writer) error {
		return func(w io.Writer) error {
			buf := make([]byte, 2*n)
			for i := range n {
				binary.LittleEndian.PutUint16(buf[2*i:], tensor.F32ToF16(float32(rng.NormFloat64()*0.05)))
			}
			_, err := w.Write(buf)
			return err
		}
	}
	ones := func(n int64) func(io.Writer) error {
		return func(w io.Writer) error {
			buf := make([]byte, 4*n)
			for i := range n {
				binary.LittleEndian.PutUint32(buf[4*i:], 0x3f800000)
			}
			_, err := w.Write(buf)
			return err
		}
	}
	src := []gguf.TensorSource{{Name: "token_embd.weight", Type: tensor.F16, Shape: tensor.Shape{embd, vocab}, WriteTo: f16(embd * vocab)}}
	qkv := int64(embd + 2*2*32)
	for l := range layers {
		p := fmt.Sprintf("blk.%d.", l)
		src = append(src,
			gguf.TensorSource{Name: p + "attn_norm.weight", Type: tensor.F32, Shape: tensor.Shape{embd}, WriteTo: ones(embd)},
			gguf.TensorSource{Name: p + "attn_qkv.weight", Type: tensor.F16, Shape: tensor.Shape{embd, qkv}, WriteTo: f16(embd * qkv)},
			gguf.TensorSource{Name: p + "attn_output.weight", Type: tensor.F16, Shape: tensor.Shape{embd, embd}, WriteTo: f16(embd * embd)},
			gguf.TensorSource{Name: p + "ffn_norm.weight", Type: tensor.F32, Shape: tensor.Shape{embd}, WriteTo: ones(embd)},
			gguf.TensorSource{Name: p + "ffn_up.weight", Type: tensor.F16, Shape: tensor.Shape{embd, 2 * ff}, WriteTo: f16(embd * 2 * ff)},
			gguf.TensorSource{Name: p + "ffn_down.weight", Type: tensor.F16, Shape: tensor.Shape{ff, embd}, WriteTo: f16(ff * embd)},
		)
	}
	src = append(src,
		gguf.TensorSource{Name: "output_norm.weight", Type: tensor.F32, Shape: tensor.Shape{embd}, WriteTo: ones(embd)},
		gguf.TensorSource{Name: "output.weight", Type: tensor.F16, Shape: tensor.Shape{embd, vocab}, WriteTo: f16(embd * vocab)},
	)
	return gguf.WriteFile(context.Background(), path, meta, src)
}
