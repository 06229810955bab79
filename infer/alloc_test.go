package infer

import (
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// TestDecodeDoesNotAllocate: after the first token, decoding one more allocates nothing.
func TestDecodeDoesNotAllocate(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	m, err := Load(filepath.Join(dir, "chatglm3-tiny-Q4_0.gguf"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if allocs := decodeAllocs(t, m, KVF16); allocs > 0 {
		t.Errorf("decoding a token allocates %.1f times", allocs)
	}
}

// decodeAllocs is the allocations of decoding one token with a cache of type kv, after a short prompt.
func decodeAllocs(t *testing.T, m *Model, kv KVType) float64 {
	t.Helper()
	s, err := m.NewSession(128, kv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Eval([]int32{1, 2, 3}, false); err != nil {
		t.Fatal(err)
	}
	next := int32(4)
	return testing.AllocsPerRun(20, func() {
		if _, err := s.Eval([]int32{next}, false); err != nil {
			t.Fatal(err)
		}
		next = next%100 + 5
	})
}
