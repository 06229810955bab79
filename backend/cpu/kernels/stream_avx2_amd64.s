//go:build amd64 && !noasm

#include "textflag.h"

// func streamSum4AVX2(p *byte, quarter int) uint64
// Sums the little-endian uint64 words of four streams, p + k·quarter for k = 0..3, each quarter bytes (a
// multiple of 64), 32-byte loads, eight independent accumulators, prefetching 4 KiB ahead in every stream:
// how the decode kernels read weights, so its speed is the bandwidth they can reach.
TEXT ·streamSum4AVX2(SB), NOSPLIT, $0-24
	MOVQ p+0(FP), SI
	MOVQ quarter+8(FP), CX
	LEAQ (SI)(CX*1), DI
	LEAQ (DI)(CX*1), R8
	LEAQ (R8)(CX*1), R9
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	SHRQ $6, CX
	JZ   sdone
sloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4096(DI)
	PREFETCHT0 4096(R8)
	PREFETCHT0 4096(R9)
	VPADDQ 0(SI), Y0, Y0
	VPADDQ 32(SI), Y1, Y1
	VPADDQ 0(DI), Y2, Y2
	VPADDQ 32(DI), Y3, Y3
	VPADDQ 0(R8), Y4, Y4
	VPADDQ 32(R8), Y5, Y5
	VPADDQ 0(R9), Y6, Y6
	VPADDQ 32(R9), Y7, Y7
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R8
	ADDQ $64, R9
	DECQ CX
	JNZ  sloop
sdone:
	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y5, Y4, Y4
	VPADDQ Y7, Y6, Y6
	VPADDQ Y2, Y0, Y0
	VPADDQ Y6, Y4, Y4
	VPADDQ Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDQ X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDQ X1, X0, X0
	VMOVQ X0, AX
	MOVQ AX, ret+16(FP)
	VZEROUPPER
	RET
