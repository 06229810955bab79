//go:build unix

package mmap

import (
	"os"

	"golang.org/x/sys/unix"
)

func mapFile(f *os.File, size int) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
}

func unmap(b []byte) error { return unix.Munmap(b) }

func mapAnonymous(n int) ([]byte, error) {
	return unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

func unmapAnonymous(b []byte) error { return unix.Munmap(b) }

// adviseDontNeed drops the pages of b from this process; a file mapping reads them again if touched.
func adviseDontNeed(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
