#!/usr/bin/env bash
# Every GPU check of the CUDA backend in one run (issues #15/#16), on a machine with an NVIDIA GPU and
# driver: run scripts/gpu-prepare.sh where Go is, carry .gpu/, then `bash .gpu/gpu-check.sh`. It writes
# logs and JSON under $OUT (default .gpu/out), most important first, so that a run cut short still says
# something: the device, the kernel and model correctness tests on the real driver (the CPU's results as
# reference), then bench on synthetic ChatGLM3-6B files of the real shape (Q4_0 with 8-bit and with
# float32 activations, Q8_0, F16).
set -uo pipefail
cd "$(dirname "$0")"
OUT="${OUT:-out}"
mkdir -p "$OUT"
export GLMTOOL_CUDA_DEVICE=1 GLMTOOL_TESTDATA="$PWD/testdata"
export GLMTOOL_PTXAS="$(command -v ptxas || ls /usr/local/cuda*/bin/ptxas 2>/dev/null | head -1)"
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv > "$OUT/nvidia-smi.csv" 2>&1
./kernels.test -test.v -test.run 'Entries|Assembles' > "$OUT/kernels.log" 2>&1; echo "kernels rc=$?" | tee -a "$OUT/summary.txt"
timeout 150 ./cuda.test -test.v -test.timeout 140s > "$OUT/cuda-tests.log" 2>&1; echo "cuda tests rc=$?" | tee -a "$OUT/summary.txt"
grep -h -- '--- \(FAIL\|PASS\|SKIP\)' "$OUT/cuda-tests.log" | head -60 >> "$OUT/summary.txt"
bench() { # name, type, extra env
	local name=$1 t=$2
	[ -f "/tmp/c3-$t.gguf" ] || ./glmtool convert --synthetic chatglm3-6b --outtype "$t" -o "/tmp/c3-$t.gguf" > "$OUT/convert-$t.log" 2>&1
	env ${3:-} timeout 100 ./glmtool bench -m "/tmp/c3-$t.gguf" --device cuda -p 512 -n 128 -r 2 -o json > "$OUT/bench-$name.json" 2> "$OUT/bench-$name.log"
	echo "bench $name rc=$?" | tee -a "$OUT/summary.txt"
}
bench q4_0 q4_0
bench q8_0 q8_0
bench f16 f16
bench q4_0-f32acts q4_0 GLMTOOL_CUDA_ACTIVATIONS=f32
cat "$OUT/summary.txt"
