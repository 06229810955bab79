package cpu

import "testing"

// testBackend starts a backend on the default kernel set, closed when the test ends.
func testBackend(tb testing.TB, threads int) *Backend {
	tb.Helper()
	b, err := New(threads)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}
