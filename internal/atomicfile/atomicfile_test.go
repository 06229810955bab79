package atomicfile

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestWriteCommitsOnSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.bin")
	if err := Write(context.Background(), path, func(w io.Writer) error {
		_, err := io.WriteString(w, "hello")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "hello" {
		t.Fatalf("read back %q, %v", b, err)
	}
}

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a")
	if err := os.WriteFile(a, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		b    string
		want bool
	}{{a, true}, {link, true}, {filepath.Join(dir, ".", "a"), true}, {filepath.Join(dir, "missing"), false}}
	for _, c := range cases {
		got, err := SameFile(a, c.b)
		if err != nil || got != c.want {
			t.Errorf("SameFile(a, %s) = %v, %v; want %v", c.b, got, err, c.want)
		}
	}
}

// deadPID is the id of a process that has exited: a child that ran and was reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestStaleTemporariesRemoved: what a kill -9 leaves (a temporary named for a dead process) is removed by
// the next write of the same target; a live process's temporary, other targets' and foreign names stay.
func TestStaleTemporariesRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.gguf")
	dead := deadPID(t)
	stale := filepath.Join(dir, fmt.Sprintf(".model.gguf.tmp-%d-12345", dead))
	live := filepath.Join(dir, fmt.Sprintf(".model.gguf.tmp-%d-777", os.Getppid()))
	other := filepath.Join(dir, fmt.Sprintf(".other.gguf.tmp-%d-1", dead))
	foreign := filepath.Join(dir, ".model.gguf.tmp-notmine")
	for _, p := range []string{stale, live, other, foreign} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStale(path)
	if err != nil || len(removed) != 1 || removed[0] != stale {
		t.Fatalf("RemoveStale = %v, %v; want only %s", removed, err, stale)
	}
	if err := os.WriteFile(stale, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), path, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{stale: false, live: true, other: true, foreign: true, path: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
}
