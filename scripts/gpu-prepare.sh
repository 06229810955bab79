#!/usr/bin/env bash
# Builds, on a machine with Go (no GPU needed), what scripts/gpu-check.sh runs on a GPU machine that has
# only the NVIDIA driver and toolkit: the CGO_ENABLED=0 glmtool binary, the CUDA backend's test binaries
# and the llama.cpp GGUF fixtures, under .gpu/ (git-ignored; carry it to the GPU machine, 64 MiB at most).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/testdata
export CGO_ENABLED=0
go build -o .gpu/glmtool .
go test -c -o .gpu/cuda.test ./backend/cuda
go test -c -o .gpu/kernels.test ./backend/cuda/kernels
data="${GLMTOOL_TESTDATA:-../shared/testdata}"
cp -r "$data/gguf" .gpu/testdata/gguf
cp scripts/gpu-check.sh .gpu/
du -sh .gpu
