package quantize

import (
	"strings"
	"testing"
)

// TestParseTargetLikeLlamaQuantize: llama-quantize's spellings (any case, the _K aliases, numeric
// llama_ftype ids) pick the same target; its types glmtool does not write are named as such.
func TestParseTargetLikeLlamaQuantize(t *testing.T) {
	cases := []struct{ in, want, err string }{
		{"q4_0", "q4_0", ""}, {"Q4_0", "q4_0", ""}, {"2", "q4_0", ""}, {"7", "q8_0", ""}, {"15", "q4_k_m", ""},
		{"Q4_K", "q4_k_m", ""}, {"q5_k", "q5_k_m", ""}, {"Q4_K_S", "q4_k_s", ""}, {"0", "f32", ""}, {"1", "f16", ""},
		{"32", "bf16", ""}, {"BF16", "bf16", ""}, {" Q6_K ", "q6_k", ""},
		{"Q3_K", "", "Q3_K_M is a llama.cpp type glmtool does not write"},
		{"iq4_xs", "", "IQ4_XS is a llama.cpp type glmtool does not write"},
		{"12", "", "file type 12 (Q3_K_M) is a llama.cpp type glmtool does not write"},
		{"99", "", "unknown file type id 99"},
		{"q9_9", "", `unknown quantization type "q9_9"`},
	}
	for _, c := range cases {
		got, err := ParseTarget(c.in)
		switch {
		case c.err == "" && (err != nil || got.Name != c.want):
			t.Errorf("%q: %v, %v; want %s", c.in, got.Name, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.in, err, c.err)
		}
	}
}
