#!/usr/bin/env bash
# Fuzzes every reader of untrusted input in turn: scripts/fuzz.sh [DURATION] (default 5m each).
# -fuzzminimizetime is short because Go's default (60 s per new input) stalls the run on every large
# input it finds interesting; -parallel 1 leaves the other cores free. New crashers land in the package's
# testdata/fuzz/NAME folder, where `go test` then runs them as regression tests.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5m}
targets=(
	"./gguf FuzzParse"
	"./convert FuzzPickle" "./convert FuzzTorchZip" "./convert FuzzTokenizers" "./convert FuzzSafetensors" "./convert FuzzHFConfig" "./convert FuzzTokenizerJSON"
	"./tokenizer FuzzEncode" "./tokenizer FuzzChatPrompt" "./tokenizer FuzzDecodeStream"
	"./infer FuzzLoad" "./infer FuzzLoRA" "./quantize FuzzQuantizeFile" "./serve FuzzToolCall"
)
status=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "== $pkg $name ($duration)"
	if ! go test "$pkg" -run '^$' -fuzz "^$name\$" -fuzztime "$duration" -fuzzminimizetime 5s -parallel 1 2>&1 | tail -n 3; then
		status=1
	fi
done
exit $status
