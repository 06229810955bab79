package quantize

import (
	"fmt"
	"sort"
	"strconv"
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

// targetAliases are llama-quantize's short names for the recommended K-quant mixes.
var targetAliases = map[string]string{"q4_k": "q4_k_m", "q5_k": "q5_k_m", "q3_k": "q3_k_m"}

// ParseTarget reads a target the way llama-quantize does, so that its scripts work unchanged: a name in any
// case ("q4_0", "Q4_K_M"), a short alias ("Q4_K" is Q4_K_M, "Q5_K" is Q5_K_M) or a numeric llama_ftype id
// ("2" is Q4_0). A llama.cpp type that glmtool does not write is named as such in the error.
func ParseTarget(name string) (Target, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if alias, ok := targetAliases[n]; ok {
		n = alias
	}
	if id, err := strconv.Atoi(n); err == nil {
		for _, t := range targets {
			if int(t.FileType) == id {
				return t, nil
			}
		}
		if ft := tensor.FileType(id); id >= 0 && !strings.HasPrefix(ft.String(), "unknown") {
			return Target{}, fmt.Errorf("file type %d (%s) is a llama.cpp type glmtool does not write (it writes %s)", id, ft, TargetNames())
		}
		return Target{}, fmt.Errorf("unknown file type id %d (want one of %s, or their llama_ftype ids)", id, TargetNames())
	}
	for _, t := range targets {
		if t.Name == n {
			return t, nil
		}
	}
	if ft, ok := tensor.ParseFileType(n); ok {
		return Target{}, fmt.Errorf("%s is a llama.cpp type glmtool does not write (it writes %s)", ft, TargetNames())
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
