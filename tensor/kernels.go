package tensor

import (
	"fmt"
	"os"
)

// KernelsEnv is the environment variable that selects the kernels: "generic" turns every assembly kernel
// off for the whole process (the pure-Go twins run instead), as a build with -tags noasm does; "avx2"
// keeps the AVX2 kernels only, as on a CPU without AVX-512.
const KernelsEnv = "GLMTOOL_KERNELS"

// Kernels names the kernel set this process uses, for logs and benchmark reports.
func Kernels() string {
	switch {
	case hasVNNI:
		return "avx512-vnni"
	case hasAVX512:
		return "avx512"
	case hasAVX2:
		return "avx2"
	}
	return "generic"
}

// CheckKernelsEnv reports a GLMTOOL_KERNELS value that names no kernel set, so that a typo is an error
// rather than a silent run on the default kernels.
func CheckKernelsEnv() error {
	switch v := os.Getenv(KernelsEnv); v {
	case "", "generic", "avx2":
		return nil
	default:
		return fmt.Errorf("%s=%q: want generic (pure Go) or avx2 (no AVX-512), or leave it unset", KernelsEnv, v)
	}
}
