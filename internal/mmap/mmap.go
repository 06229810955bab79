// Package mmap maps files read-only, so that multi-GB model files cost no memory until their bytes are
// touched, and gives touched ranges back to the kernel when they are done with.
package mmap

import (
	"fmt"
	"os"
)

// Map is a read-only mapping of a whole file.
type Map struct {
	Data []byte
	file *os.File // kept open for ReadAt
}

// Open maps path. An empty file gives an empty Map.
func Open(path string) (*Map, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size == 0 {
		return &Map{file: fd}, nil
	}
	if int64(int(size)) != size {
		fd.Close()
		return nil, fmt.Errorf("%s: file of %d bytes cannot be mapped on this platform", path, size)
	}
	data, err := mapFile(fd, int(size))
	if err != nil {
		fd.Close()
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return &Map{Data: data, file: fd}, nil
}

// Close unmaps the file; slices of Data must not be used afterwards.
func (m *Map) Close() error {
	if m == nil {
		return nil
	}
	var err error
	if m.Data != nil {
		err = unmap(m.Data)
		m.Data = nil
	}
	if m.file != nil {
		if cerr := m.file.Close(); err == nil {
			err = cerr
		}
		m.file = nil
	}
	return err
}

// ReadAt copies bytes from the file with pread. Streaming a large file through a reused buffer this way
// costs one copy and no page-table work, which is cheaper than mapping and unmapping every page.
func (m *Map) ReadAt(p []byte, off int64) (int, error) {
	if m == nil || m.file == nil {
		return 0, fmt.Errorf("mmap: file is closed")
	}
	return m.file.ReadAt(p, off)
}

// Release tells the kernel that bytes [off, off+n) are no longer needed: their pages stop counting towards
// this process's memory (they stay in the page cache, and reading them again is still valid).
func (m *Map) Release(off, n int64) {
	if m == nil || m.Data == nil || n <= 0 || off < 0 || off >= int64(len(m.Data)) {
		return
	}
	page := int64(os.Getpagesize())
	start := off / page * page
	end := min(off+n, int64(len(m.Data)))
	adviseDontNeed(m.Data[start:end])
}

// Load asks the kernel to map bytes [off, off+n) now, in one call, instead of one page fault per 4 KiB
// page as they are touched (which costs more than the copy itself when streaming a multi-GB file).
func (m *Map) Load(off, n int64) {
	if m == nil || m.Data == nil || n <= 0 || off < 0 || off >= int64(len(m.Data)) {
		return
	}
	page := int64(os.Getpagesize())
	start := off / page * page
	end := min(off+n, int64(len(m.Data)))
	advisePopulate(m.Data[start:end])
}
