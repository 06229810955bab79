//go:build !(darwin || freebsd || linux || netbsd || windows)

package dynlib

import (
	"fmt"
	"runtime"
)

func open(name string) (uintptr, error) {
	return 0, fmt.Errorf("%s: shared libraries cannot be loaded on %s", name, runtime.GOOS)
}

func symbol(uintptr, string) (uintptr, error) { return 0, fmt.Errorf("no symbols on %s", runtime.GOOS) }

func closeLib(uintptr) error { return nil }
