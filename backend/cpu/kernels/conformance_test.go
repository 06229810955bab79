package kernels

import (
	"strings"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// conformanceChecks are the kernel checks, each against the Go code (bit for bit where a kernel is
// exact) or a float64 reference (within a stated bound where a kernel sums with FMA or in other lanes).
// applies says which sets have the kernels a check exercises (nil: every set).
var conformanceChecks = []struct {
	name    string
	check   func(*testing.T, *Set)
	applies func(*Set) bool
}{
	{"BlockDots", checkBlockDots, nil},
	{"Q8ActsDot", checkQ8ActsDot, nil},
	{"RepackedDots", checkRepackedDots, (*Set).hasVNNI},
	{"PanelDots", checkPanelDots, func(s *Set) bool { return s.hasPanels() }},
	{"PanelDotsQ8_0", checkPanelDotsQ8_0, func(s *Set) bool { return s.CanPanel(tensor.Q8_0, PanelRows, 128) }},
	{"KPanelDots", checkKPanelDots, func(s *Set) bool { return s.CanKPanel(tensor.Q4_K, KPanelRows, tensor.QK_K) }},
	{"Q45FileLayoutDots", checkQ45FileLayoutDots, (*Set).hasAVX2},
	{"FourTokensExact", checkFourTokensExact, nil},
	{"DotQ6_KQ8_K", checkDotQ6_KQ8_K, nil},
	{"Q6KKernelMatchesGo", checkQ6KKernelMatchesGo, nil},
	{"KQuantDots", checkKQuantDots, nil},
	{"FloatDots", checkFloatDots, nil},
	{"FloatTile", checkFloatTile, (*Set).HasFloatTile},
	{"AttnValuesF16", checkAttnValuesF16, nil},
	{"AttnScores16F16", checkAttnScores16F16, nil},
	{"ExpSum", checkExpSum, nil},
	{"SiLUMul", checkSiLUMul, nil},
	{"StreamSum", checkStreamSum, nil},
}

// TestConformance runs every check on every kernel set this build can run here: on amd64 those the
// CPU's features allow (generic, avx2, avx512, avx512-vnni, avx512-amx), without assembly all of them as
// their Go twins. CI runs it on AVX-512 and, through -tags noasm, on the twins.
func TestConformance(t *testing.T) {
	sets := Available()
	for _, s := range sets {
		t.Run(s.Name(), func(t *testing.T) {
			for _, c := range conformanceChecks {
				if c.applies != nil && !c.applies(s) {
					continue
				}
				t.Run(c.name, func(t *testing.T) { c.check(t, s) })
			}
		})
	}
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.Name()
	}
	t.Logf("kernel sets checked: %v", names)
}

// TestDefault: the default set is the best available one, GLMTOOL_KERNELS limits it, and an unknown
// value is an error that names the variable.
func TestDefault(t *testing.T) {
	sets := Available()
	best := cpuLevel()
	for _, c := range []struct {
		env  string
		want level
		err  bool
	}{{"", best, false}, {"generic", generic, false}, {"avx2", min(best, avx2), false},
		{"avx512-vnni", min(best, avx512VNNI), false}, {"avx512", 0, true}, {"AVX2", 0, true}} {
		t.Setenv(Env, c.env)
		s, err := Default()
		if c.err {
			if err == nil || !strings.Contains(err.Error(), Env) {
				t.Errorf("%s=%q: error %v, want one naming %s", Env, c.env, err, Env)
			}
			continue
		}
		if err != nil || s.level != c.want {
			t.Errorf("%s=%q: %v, %v; want the %s set", Env, c.env, s, err, levelNames[c.want])
		}
	}
	if sets[0].Name() != "generic" || int(runnableLevel())+1 != len(sets) {
		t.Errorf("Available: %d sets starting with %s", len(sets), sets[0].Name())
	}
}
