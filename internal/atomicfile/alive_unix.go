//go:build unix

package atomicfile

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid names a running process: signal 0 checks without signalling. EPERM
// means it exists but belongs to someone else.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
