// Package kernels is the CPU backend's compute kernels: the dot products of every weight type with its
// activations (ggml's layouts, and the packed and repacked layouts of the AVX-512 VNNI kernels), the float
// dots and attention sums, softmax's exponentials and the memory-stream probe, in assembly where the CPU
// has the instructions and in Go everywhere.
//
// The kernels come as sets (Set: generic, avx2, avx512, avx512-vnni), each with one table entry per
// weight type, as ggml-cpu's type traits: the activation type the type's dots take, its one- and
// four-token dots and whether the four-token calls give every token the one-token bits. A process uses
// Default (the best this CPU runs, limited by GLMTOOL_KERNELS); the conformance test runs every set this
// build can run. Every assembly function has a Go twin of the same name and signature in builds without
// assembly (kernels_noasm.go), so there every set runs, in Go.
package kernels
