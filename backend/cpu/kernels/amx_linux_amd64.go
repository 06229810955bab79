//go:build linux && amd64 && !noasm

package kernels

import "golang.org/x/sys/unix"

// Linux's arch_prctl request for an extended state component, and AMX's tile data component.
const (
	archReqXcompPerm  = 0x1023
	xfeatureXTileData = 18
)

// amxPermitted asks Linux for the AMX tile state (without it the first tile instruction faults). The
// permission is the process's; asking again is harmless.
func amxPermitted() bool {
	_, _, errno := unix.Syscall(unix.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXTileData, 0)
	return errno == 0
}
