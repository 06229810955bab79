// Package dynlib opens a shared library at run time and binds its C functions to Go function variables
// through purego, without cgo: the CUDA driver and NVRTC are found on the user's machine, not at build
// time, and `CGO_ENABLED=0 go build` keeps working where no CUDA is installed.
package dynlib

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

// Lib is an open shared library.
type Lib struct {
	Path   string
	handle uintptr
}

// Open opens the first of names that loads; the error names every one tried.
func Open(names ...string) (*Lib, error) {
	var first error
	for _, name := range names {
		h, err := open(name)
		if err == nil {
			return &Lib{Path: name, handle: h}, nil
		}
		if first == nil {
			first = err
		}
	}
	if len(names) == 0 {
		return nil, errors.New("no library name given")
	}
	// The loader's message for the first name says why (not found, wrong architecture, ...).
	return nil, fmt.Errorf("cannot load %s: %w", strings.Join(names, " or "), first)
}

// Bind sets each function variable *fptr (a pointer to a func variable) to the library's symbol of that
// name, keyed by symbol name. A missing symbol is an error naming it.
func (l *Lib) Bind(funcs map[string]any) error {
	for name, fptr := range funcs {
		sym, err := symbol(l.handle, name)
		if err != nil {
			return fmt.Errorf("%s: symbol %s: %w", l.Path, name, err)
		}
		purego.RegisterFunc(fptr, sym)
	}
	return nil
}

// Close unloads the library; the bound functions must not be called after it.
func (l *Lib) Close() error {
	if l == nil || l.handle == 0 {
		return nil
	}
	err := closeLib(l.handle)
	l.handle = 0
	return err
}
