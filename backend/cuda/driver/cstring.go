package driver

import "unsafe"

// goString copies a NUL-terminated C string (at most 4096 bytes: the driver's messages are short).
func goString(p *byte) string {
	var b []byte
	for i := 0; i < 4096; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(p), i))
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}
