// Package infer runs the GLM decoder of all four ChatGLM generations on the CPU, reading weights in place
// from a memory-mapped GGUF file. It follows ../shared/docs/glm-spec.md: §3.1 for ChatGLM-6B (LayerNorm,
// interleaved QKV, 2-D rotate-half RoPE, prefix-LM mask, GELU, the √56 residual on the normalized input)
// and §3.2 for ChatGLM2/3 and GLM-4 (RMSNorm, fused QKV with GQA, partial interleaved RoPE, SwiGLU).
package infer
