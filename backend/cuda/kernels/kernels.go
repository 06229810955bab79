// Package kernels holds the CUDA backend's device code: CUDA C sources (*.cu, one per area, and the
// headers they share, *.cuh) and the PTX that NVRTC compiled from them (ptx/NAME.ptx), both embedded.
// The driver JIT-compiles the PTX for whatever GPU it finds, so a user needs only the NVIDIA driver.
// After changing a source, run `go generate ./backend/cuda/kernels` (it needs libnvrtc, no GPU); a test
// fails when the embedded PTX no longer matches the sources.
package kernels

import (
	"embed"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:generate go run ./genptx

//go:embed *.cu *.cuh
var sources embed.FS

//go:embed ptx/*.ptx
var ptx embed.FS

// Arch is the virtual architecture the PTX targets: compute_61 (Pascal, the first with __dp4a) and
// everything newer, which the driver compiles it for.
const Arch = "compute_61"

// CompileOptions are the NVRTC options the PTX is compiled with.
func CompileOptions() []string { return []string{"--gpu-architecture=" + Arch, "--std=c++17"} }

// Source is one .cu file and its text.
type Source struct{ Name, Text string }

// Sources returns every .cu file, sorted by name.
func Sources() []Source { return read(sources, "*.cu") }

// Headers returns every .cuh file by name.
func Headers() map[string]string {
	h := map[string]string{}
	for _, s := range read(sources, "*.cuh") {
		h[s.Name] = s.Text
	}
	return h
}

// PTX returns the embedded PTX module compiled from each source, keyed by the source's name.
func PTX() map[string][]byte {
	out := map[string][]byte{}
	for _, s := range Sources() {
		b, err := fs.ReadFile(ptx, "ptx/"+PTXName(s.Name))
		if err == nil {
			out[s.Name] = b
		}
	}
	return out
}

// PTXName is the embedded module's file name for source src ("matmul.cu" → "matmul.ptx").
func PTXName(src string) string { return strings.TrimSuffix(src, path.Ext(src)) + ".ptx" }

var entryRE = regexp.MustCompile(`extern "C" __global__ void (\w+)\(`)

// Entries returns the kernels a source defines, expanding its MATMUL_QUANT(name), MATMUL_FLOAT(name) and
// MMVQ(name, ...) instantiations.
func Entries(s Source) []string {
	var names []string
	for _, m := range entryRE.FindAllStringSubmatch(s.Text, -1) {
		if !strings.Contains(m[1], "##") {
			names = append(names, m[1])
		}
	}
	for _, m := range instanceRE.FindAllStringSubmatch(s.Text, -1) {
		names = append(names, "matmul_"+m[2], "embed_"+m[2])
	}
	for _, m := range mmvqRE.FindAllStringSubmatch(s.Text, -1) {
		names = append(names, "matmul_"+m[1]+"_q8")
	}
	return names
}

var instanceRE = regexp.MustCompile(`(?m)^(MATMUL_QUANT|MATMUL_FLOAT)\((\w+)\)$`)

var mmvqRE = regexp.MustCompile(`(?m)^MMVQ\((\w+),`)

func read(f embed.FS, pattern string) []Source {
	names, _ := fs.Glob(f, pattern) // the pattern is a constant: it cannot be malformed
	sort.Strings(names)
	out := make([]Source, 0, len(names))
	for _, n := range names {
		b, _ := fs.ReadFile(f, n) // embedded: cannot fail
		out = append(out, Source{Name: n, Text: string(b)})
	}
	return out
}
