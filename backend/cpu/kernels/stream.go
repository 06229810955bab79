package kernels

import (
	"encoding/binary"
	"unsafe"
)

// streamChunk is the granularity of the assembly stream: four streams of whole 64-byte steps.
const streamChunk = 4 * 64

// StreamSum adds up b as little-endian uint64 words (a trailing partial word is ignored), reading it as
// four interleaved streams with vector loads in the AVX2 and AVX-512 sets. It exists to measure memory
// bandwidth the way the decode kernels read weights; the sum only keeps the reads from being optimised
// away, and is the same for every kernel set.
func (s *Set) StreamSum(b []byte) uint64 {
	n := len(b) / streamChunk * streamChunk
	var sum uint64
	if s.hasAVX2() && n > 0 {
		sum = streamSum4AVX2(unsafe.SliceData(b), n/4)
	} else {
		sum = streamSumGo(b[:n])
	}
	return sum + streamSumGo(b[n:])
}

// streamSumGo is the Go twin of streamSum4AVX2: the same words, added in another order (integer
// addition modulo 2^64 does not depend on it).
func streamSumGo(b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	i := 0
	for ; i+32 <= len(b); i += 32 {
		s0 += binary.LittleEndian.Uint64(b[i:])
		s1 += binary.LittleEndian.Uint64(b[i+8:])
		s2 += binary.LittleEndian.Uint64(b[i+16:])
		s3 += binary.LittleEndian.Uint64(b[i+24:])
	}
	for ; i+8 <= len(b); i += 8 {
		s0 += binary.LittleEndian.Uint64(b[i:])
	}
	return s0 + s1 + s2 + s3
}
