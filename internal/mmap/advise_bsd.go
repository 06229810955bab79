//go:build unix && !linux

package mmap

import "golang.org/x/sys/unix"

// advisePopulate asks for b to be read ahead: macOS and the BSDs have no MADV_POPULATE_READ.
func advisePopulate(b []byte) { _ = unix.Madvise(b, unix.MADV_WILLNEED) }

// adviseHugePages does nothing: these systems choose superpages themselves.
func adviseHugePages([]byte) {}
