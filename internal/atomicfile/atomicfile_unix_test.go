//go:build unix

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

// TestWriteHonoursUmask: the output gets 0666 less the umask, like any file a program creates.
func TestWriteHonoursUmask(t *testing.T) {
	for _, mask := range []int{0o022, 0o077, 0o002} {
		old := syscall.Umask(mask)
		path := filepath.Join(t.TempDir(), "out")
		err := Write(context.Background(), path, func(w io.Writer) error { return nil })
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Mode().Perm(), os.FileMode(0o666&^mask); got != want {
			t.Errorf("umask %03o: mode %v, want %v", mask, got, want)
		}
	}
}
