// Package quantize converts a GGUF model to another tensor type mix exactly as llama-quantize (llama.cpp
// c392e509, no importance matrix) does: the same per-tensor type choices, the same tensor order and
// metadata, and the same bytes, because the block encoders are ggml's reference quantizers in package
// tensor. It streams: tensors are processed in chunks of rows, so memory stays bounded by a few chunks.
package quantize
