package mmap

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Anonymous is private memory outside the Go heap, for multi-GB buffers that the garbage collector should
// neither scan nor count.
type Anonymous struct {
	Data []byte
}

// NewAnonymous maps n zeroed bytes and asks for transparent huge pages (MADV_HUGEPAGE), which cut TLB
// misses when a model's weights are streamed once per token; the kernel may refuse, and 4 KiB pages work.
func NewAnonymous(n int) (*Anonymous, error) {
	if n <= 0 {
		return &Anonymous{}, nil
	}
	b, err := mapAnonymous(n)
	if err != nil {
		return nil, fmt.Errorf("map %d bytes of memory: %w", n, err)
	}
	adviseHugePages(b)
	return &Anonymous{Data: b}, nil
}

// Close unmaps the memory; the slices into it must not be used afterwards.
func (a *Anonymous) Close() error {
	if a == nil || a.Data == nil {
		return nil
	}
	err := unmapAnonymous(a.Data)
	a.Data = nil
	return err
}

// Available is the memory the kernel reports it can give without swapping (MemAvailable in /proc/meminfo,
// page cache that can be dropped included), or -1 where that is unknown.
func Available() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return kb << 10
		}
	}
	return -1
}
