package quantize

import (
	"fmt"
	"sort"
	"strings"

	"github.com/glmtool/glmtool/tensor"
)

// Target is a whole-file quantization choice: the llama_ftype recorded in general.file_type and the base
// tensor type that eligible weights get before the per-tensor rules.
type Target struct {
	Name     string
	FileType tensor.FileType
	Base     tensor.Type
}

// targets are the choices glmtool offers (llama_model_quantize_impl's default_type switch).
var targets = []Target{
	{"f32", tensor.FileF32, tensor.F32},
	{"f16", tensor.FileF16, tensor.F16},
	{"bf16", tensor.FileBF16, tensor.BF16},
	{"q4_0", tensor.FileQ4_0, tensor.Q4_0},
	{"q4_1", tensor.FileQ4_1, tensor.Q4_1},
	{"q5_0", tensor.FileQ5_0, tensor.Q5_0},
	{"q5_1", tensor.FileQ5_1, tensor.Q5_1},
	{"q8_0", tensor.FileQ8_0, tensor.Q8_0},
	{"q4_k_s", tensor.FileQ4_K_S, tensor.Q4_K},
	{"q4_k_m", tensor.FileQ4_K_M, tensor.Q4_K},
	{"q5_k_m", tensor.FileQ5_K_M, tensor.Q5_K},
	{"q6_k", tensor.FileQ6_K, tensor.Q6_K},
}

// ParseTarget reads a target name case-insensitively ("q4_0", "Q4_K_M").
func ParseTarget(name string) (Target, error) {
	for _, t := range targets {
		if strings.EqualFold(t.Name, name) {
			return t, nil
		}
	}
	return Target{}, fmt.Errorf("unknown quantization type %q (want one of %s)", name, TargetNames())
}

// TargetNames lists the accepted target names.
func TargetNames() string {
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
