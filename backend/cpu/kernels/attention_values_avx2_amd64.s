//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// func attnValues4F16AVX2(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)
//
// Attention's weighted values for four query heads that share a KV head: out[e·hd + j] (+)= Σ_k
// scores[e·sstride + k] · half(value k)[j], value k at vals + k·vstride bytes; with add = 0 out is set,
// else added to. Each chunk of 16 values of the four heads stays in eight accumulators while the nk value
// rows pass; the caller gives a block of keys small enough for its rows to stay in L1 across the chunks.
// hd is a multiple of 16, nk at least 1.
TEXT ·attnValues4F16AVX2(SB), NOSPLIT, $0-64
	MOVQ scores+0(FP), SI
	MOVQ sstride+8(FP), R8
	SHLQ $2, R8                // bytes between two heads' scores
	MOVQ vals+16(FP), DI
	MOVQ vstride+24(FP), R9
	MOVQ nk+32(FP), R10
	MOVQ hd+40(FP), DX
	MOVQ out+48(FP), R11
	LEAQ (R8)(R8*2), R12       // three heads' scores
	MOVQ DX, R13
	SHLQ $2, R13               // bytes between two heads' outputs
	XORQ AX, AX                // the chunk's first value
avchunk:
	CMPQ AX, DX
	JGE  avdone
	MOVQ add+56(FP), BX
	TESTQ BX, BX
	JNZ  avload
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	JMP  avkeys
avload:
	LEAQ (R11)(AX*4), BX
	VMOVUPS 0(BX), Y0
	VMOVUPS 32(BX), Y1
	ADDQ R13, BX
	VMOVUPS 0(BX), Y2
	VMOVUPS 32(BX), Y3
	ADDQ R13, BX
	VMOVUPS 0(BX), Y4
	VMOVUPS 32(BX), Y5
	ADDQ R13, BX
	VMOVUPS 0(BX), Y6
	VMOVUPS 32(BX), Y7
avkeys:
	MOVQ SI, BX
	LEAQ (DI)(AX*2), CX
	MOVQ R10, R14
avkey:
	VCVTPH2PS 0(CX), Y8
	VCVTPH2PS 16(CX), Y9
	VBROADCASTSS 0(BX), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	VBROADCASTSS 0(BX)(R8*1), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y3
	VBROADCASTSS 0(BX)(R8*2), Y10
	VFMADD231PS Y10, Y8, Y4
	VFMADD231PS Y10, Y9, Y5
	VBROADCASTSS 0(BX)(R12*1), Y10
	VFMADD231PS Y10, Y8, Y6
	VFMADD231PS Y10, Y9, Y7
	ADDQ $4, BX
	ADDQ R9, CX
	DECQ R14
	JNZ  avkey
	LEAQ (R11)(AX*4), BX
	VMOVUPS Y0, 0(BX)
	VMOVUPS Y1, 32(BX)
	ADDQ R13, BX
	VMOVUPS Y2, 0(BX)
	VMOVUPS Y3, 32(BX)
	ADDQ R13, BX
	VMOVUPS Y4, 0(BX)
	VMOVUPS Y5, 32(BX)
	ADDQ R13, BX
	VMOVUPS Y6, 0(BX)
	VMOVUPS Y7, 32(BX)
	ADDQ $16, AX
	JMP  avchunk
avdone:
	VZEROUPPER
	RET
