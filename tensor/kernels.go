package tensor

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
