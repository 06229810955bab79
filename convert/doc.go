// Package convert turns a Hugging Face checkpoint folder of a ChatGLM-family model (config.json, sharded
// safetensors or PyTorch .bin weights, tokenizer files) into one GGUF file, and builds synthetic models of
// the real shapes. Tensors are read lazily from memory-mapped shards, one at a time, and streamed through
// the GGUF writer, so memory stays small whatever the model size. No Python and no remote code is needed.
package convert
