//go:build !linux && amd64 && !noasm

package kernels

// amxPermitted is false: only Linux is asked for the AMX tile state here.
func amxPermitted() bool { return false }
