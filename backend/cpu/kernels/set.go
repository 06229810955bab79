package kernels

import (
	"fmt"
	"os"
)

// Env is the environment variable that selects the kernel set: "generic" runs the pure-Go code alone (as
// a build with -tags noasm does), "avx2" the AVX2 kernels only, as on a CPU without AVX-512,
// "avx512-vnni" everything but AMX.
const Env = "GLMTOOL_KERNELS"

// level orders the kernel sets: each uses every kernel of the ones below it that it does not replace.
type level int

const (
	generic    level = iota // the Go code
	avx2                    // AVX2, F16C and FMA
	avx512                  // AVX-512 F/BW/VL
	avx512VNNI              // AVX-512 VNNI: packed activations and repacked rows
	avx512AMX               // AMX tiles (Linux, AMX-INT8): Q4_0 rows in panels of 16
)

var levelNames = [...]string{generic: "generic", avx2: "avx2", avx512: "avx512", avx512VNNI: "avx512-vnni", avx512AMX: "avx512-amx"}

// Set is one kernel set: for every weight type, the dot products, the activation format they take and how
// many tokens one call serves (ggml-cpu's type traits), plus the float, attention and softmax kernels. A
// process uses one (Default); tests run every one this CPU can run (Available) against the Go code.
type Set struct {
	level  level
	floats *floatSet              // nil: no float kernels (decoded rows and dotF32Go)
	traits [typeSlots]typeKernels // by weight type; zero for types without a kernel
	// tileConfig is the AMX kernel's tile configuration (avx512-amx; panels.go).
	tileConfig [64]byte
}

// Name is the set's name as reports print it: generic, avx2, avx512, avx512-vnni or avx512-amx.
func (s *Set) Name() string { return levelNames[s.level] }

// Default is the best set this CPU runs, limited by GLMTOOL_KERNELS; an unknown value is an error, so
// that a typo is not a silent run on other kernels.
func Default() (*Set, error) {
	l := cpuLevel()
	switch v := os.Getenv(Env); v {
	case "":
	case "generic":
		l = generic
	case "avx2":
		l = min(l, avx2)
	case "avx512-vnni":
		l = min(l, avx512VNNI)
	default:
		return nil, fmt.Errorf("%s=%q: want generic (pure Go), avx2 (no AVX-512) or avx512-vnni (no AMX), or leave it unset", Env, v)
	}
	return newSet(l), nil
}

// Available is every set this build can run here, generic first: on amd64 the ones the CPU's features
// allow; without assembly (-tags noasm, other architectures) all of them, each kernel its Go twin, so
// that the layouts the assembly reads are tested everywhere.
func Available() []*Set {
	var sets []*Set
	for l := generic; l <= runnableLevel(); l++ {
		sets = append(sets, newSet(l))
	}
	return sets
}

func newSet(l level) *Set {
	s := &Set{level: l}
	switch {
	case l >= avx512:
		s.floats = &avx512Floats
	case l >= avx2:
		s.floats = &avx2Floats
	}
	s.traits = typeTable(l)
	if l >= avx512AMX {
		s.tileConfig = amxConfig(16)
	}
	return s
}

func (s *Set) hasAVX2() bool   { return s.level >= avx2 }
func (s *Set) hasAVX512() bool { return s.level >= avx512 }
func (s *Set) hasVNNI() bool   { return s.level >= avx512VNNI }
