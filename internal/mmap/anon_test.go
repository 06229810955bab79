package mmap

import (
	"runtime"
	"testing"
)

// TestAnonymous: the memory is zeroed, writable, and unmapped by Close; Available reads /proc/meminfo.
func TestAnonymous(t *testing.T) {
	a, err := NewAnonymous(3 << 20)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range a.Data {
		if b != 0 {
			t.Fatalf("byte %d is %d, want 0", i, b)
		}
	}
	a.Data[len(a.Data)-1] = 7
	if err := a.Close(); err != nil || a.Data != nil {
		t.Fatalf("Close: %v (data %v)", err, a.Data != nil)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	avail := Available()
	if runtime.GOOS == "linux" && avail <= 0 {
		t.Fatalf("Available() = %d on Linux, want the MemAvailable of /proc/meminfo", avail)
	}
}
