// Package gguf reads and writes GGUF v2/v3 files byte-compatibly with llama.cpp (gguf.cpp at commit
// c392e509). The reader maps the file and validates every count, length, type and offset against the file
// before it trusts it; tensor data are zero-copy slices of the map. The writer streams metadata, tensor
// infos and then tensor data from producers, so a model never has to sit in memory.
package gguf
