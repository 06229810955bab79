// Package testenv finds the shared reference data (../shared/testdata beside the repository, or
// $GLMTOOL_TESTDATA) for tests. A test that needs it skips when it is absent, except under CI=true, where a
// missing reference is a failure: CI must never pass by skipping.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// TestData returns the shared testdata directory, or skips (fails under CI=true) when it is missing.
func TestData(t testing.TB) string {
	t.Helper()
	dir, ok := find()
	if !ok {
		msg := "shared test data not found: set GLMTOOL_TESTDATA or place it at ../shared/testdata beside the repository"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// Path joins elements onto TestData and skips (or fails under CI) when that file is missing.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{TestData(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared test data: %v", err)
		}
		t.Skipf("shared test data: %v", err)
	}
	return p
}

func find() (string, bool) {
	if d := os.Getenv("GLMTOOL_TESTDATA"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, true
		}
		return "", false
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	// Walk up to the repository root (the directory holding go.mod), then look beside it.
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(filepath.Dir(dir), "shared", "testdata")
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				return d, true
			}
			return "", false
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}
