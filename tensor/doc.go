// Package tensor is the shared numeric core of glmtool: the ggml type table, shapes in ggml order, byte
// sizes of rows and tensors, the exact float16/bfloat16 conversions and (in later files) the ggml block
// formats. Every subcommand uses this one package; nothing else may define its own copy of these tables.
package tensor
