// Package infer runs the GLM decoders over a compute backend (package backend; the CPU one by default),
// with weights read from a GGUF file. Each architecture's forward pass is one graph file: ChatGLM-6B
// (graph_chatglm1.go, ../shared/docs/glm-spec.md §3.1: LayerNorm, interleaved QKV, 2-D rotate-half RoPE,
// prefix-LM mask, GELU, the √56 residual on the normalized input), llama.cpp's chatglm architecture for
// ChatGLM2/3, GLM-4 and GLM-Edge (graph_chatglm.go, §3.2: RMSNorm, fused QKV with GQA, partial interleaved
// RoPE, SwiGLU) and its glm4 architecture for GLM-4-0414 (graph_glm4.go: the same with sandwich norms).
package infer
