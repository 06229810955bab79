//go:build amd64 && !noasm

package tensor

import (
	"os"

	"golang.org/x/sys/cpu"
)

// hasAVX2 is fixed at start-up: the CPU has AVX2 and F16C and GLMTOOL_KERNELS is not "generic" (which
// turns every assembly kernel off, as -tags noasm compiles them out).
var hasAVX2 = os.Getenv("GLMTOOL_KERNELS") != "generic" && cpu.X86.HasAVX2 && cpu.X86.HasF16C

// f16ToF32AVX2 converts n halves (n a multiple of 8) with VCVTPH2PS, which is exact (f16_avx2_amd64.s).
//
//go:noescape
func f16ToF32AVX2(dst *float32, src *byte, n int)

// quantizeQ4_0AVX2 encodes nb blocks of 32 floats as Q4_0 (quantize_q4_0_avx2_amd64.s). It stops at the
// first block holding a NaN and returns its index (the caller encodes that block with the Go code, whose
// comparisons skip NaN as ggml's do), or -1 when every block was encoded.
//
//go:noescape
func quantizeQ4_0AVX2(x *float32, y *byte, nb int) int
