// Package atomicfile writes output files so that a reader never sees a partial file: data go to a temporary
// file in the target directory, which is fsynced and renamed over the target only when everything worked.
// On an error or a cancelled context (the commands cancel it on SIGINT/SIGTERM) the temporary file is
// removed and an existing target is left as it was. A process killed outright (SIGKILL, a power cut)
// cannot clean up, so temporary files carry the writer's process id, ".NAME.tmp-PID-RANDOM", and the next
// write of the same target removes those whose process is gone (RemoveStale).
package atomicfile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// bufferSize is large enough that the ctx check per Write costs nothing next to the disk.
const bufferSize = 4 << 20

// Write creates path from what fn writes. fn's writer fails with ctx.Err() once ctx is cancelled, so a long
// write stops within one buffer of the cancellation.
func Write(ctx context.Context, path string, fn func(w io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	_, _ = RemoveStale(path)
	tmp, err := createTemp(dir, base)
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	committed := false
	defer func() {
		if !committed {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(&ctxWriter{ctx: ctx, w: tmp}, bufferSize)
	if err := fn(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	committed = true
	// Make the rename itself durable; failure here does not lose data already in place.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// SameFile reports whether a and b name the same existing file, so that a command can refuse to overwrite
// its input. A path that does not exist is not the same as anything.
func SameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err // os.Stat's error names the path already
	}
	sb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// createTemp makes a new temporary file for base in dir. It is created with mode 0666 like any file a
// program writes, so the umask applies as the user expects (os.CreateTemp's 0600 would need a chmod,
// and reading the umask means changing it for the whole process).
func createTemp(dir, base string) (*os.File, error) {
	prefix := fmt.Sprintf("%s%d-", tempPrefix(base), os.Getpid())
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("no unused temporary name after 100 tries")
}

// tempPrefix starts the names of path's temporary files.
func tempPrefix(base string) string { return "." + base + ".tmp-" }

// RemoveStale deletes the temporary files that an earlier write of path left when its process was killed
// (their process id names no running process), and returns their names so that a command can say so.
// Temporary files of running processes, and names it did not make, are left alone.
func RemoveStale(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil // the write itself reports a missing or unreadable folder
	}
	prefix := tempPrefix(base)
	var removed []string
	var errs []error
	for _, e := range entries {
		name := e.Name()
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		pidText, random, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || random == "" || strings.Trim(random, "0123456789") != "" {
			continue
		}
		if pid == os.Getpid() || processAlive(pid) {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}
