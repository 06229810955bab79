package atomicfile

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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

// TestSignalRemovesTemporaryFile sends SIGTERM to this process while a write is in progress, exactly as a
// user's kill would, with the same signal.NotifyContext wiring the commands use.
func TestSignalRemovesTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.gguf")
	if err := os.WriteFile(path, []byte("previous model"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	err := Write(ctx, path, func(w io.Writer) error {
		chunk := make([]byte, 1<<20)
		for i := 0; ; i++ {
			if i == 8 {
				if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
					return err
				}
			}
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			if i > 8 {
				time.Sleep(time.Millisecond) // let the signal arrive
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("%d entries left in the directory, want only the original file", len(entries))
	}
	if b, _ := os.ReadFile(path); string(b) != "previous model" {
		t.Fatalf("the existing file was changed to %q", b[:min(len(b), 20)])
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
