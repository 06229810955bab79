package mmap

import "golang.org/x/sys/unix"

// advisePopulate maps every page of b in one call (Linux 5.14+; older kernels ignore it and fault pages in
// as they are touched).
func advisePopulate(b []byte) { _ = unix.Madvise(b, unix.MADV_POPULATE_READ) }

// adviseHugePages asks for transparent huge pages; the kernel may refuse, and 4 KiB pages work.
func adviseHugePages(b []byte) { _ = unix.Madvise(b, unix.MADV_HUGEPAGE) }
