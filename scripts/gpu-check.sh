#!/usr/bin/env bash
# Every GPU check of the CUDA backend in one run (issues #15/#16), on a machine with an NVIDIA GPU and
# driver: run scripts/gpu-prepare.sh where Go is, carry .gpu/, then `bash .gpu/gpu-check.sh`. It writes
# JSON and logs under $OUT (default .gpu/out): the device, the kernel and model correctness tests on the
# real driver (the CPU's results as reference), and bench on synthetic ChatGLM3-6B files of the real shape.
set -uo pipefail
cd "$(dirname "$0")"
OUT="${OUT:-out}"
mkdir -p "$OUT"
export GLMTOOL_CUDA_DEVICE=1 GLMTOOL_TESTDATA="$PWD/testdata"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv > "$OUT/nvidia-smi.csv" 2>&1
# Correctness: kernels (PTX loads; ptxas where the toolkit has it) and every op and model against the CPU.
./kernels.test -test.v -test.run 'Entries|Assembles' > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?" | tee -a "$OUT/summary.txt"
./cuda.test -test.v -test.timeout 300s > "$OUT/cuda-tests.log" 2>&1; echo "cuda tests rc=$?" | tee -a "$OUT/summary.txt"
# Speed: synthetic ChatGLM3-6B (28 layers, 4096, 13696, vocab 65024) per type, as llama-bench's pp512/tg128.
for t in q4_0 q8_0 f16; do
	timeout 240 ./glmtool bench --synthetic chatglm3-6b --type "$t" --device cuda -p 512 -n 128 -r 2 -o json \
		> "$OUT/bench-$t.json" 2> "$OUT/bench-$t.log"
	echo "bench $t rc=$?" | tee -a "$OUT/summary.txt"
done
grep -h -- '--- \(FAIL\|PASS\)' "$OUT"/*.log | head -60 >> "$OUT/summary.txt"
cat "$OUT/summary.txt"
