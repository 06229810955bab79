//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// Attention's weighted sum of F16 value rows, AVX-512 (see attention_values_avx2_amd64.s).

// func attnValues4F16AVX512(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)
//
// attnValues4F16AVX2 with 512-bit registers: each chunk of 32 values of the four heads stays in eight
// accumulators while the nk value rows pass (16 halves a VCVTPH2PS). hd is a multiple of 32, nk at least 1.
TEXT ·attnValues4F16AVX512(SB), NOSPLIT, $0-64
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
zvchunk:
	CMPQ AX, DX
	JGE  zvdone
	MOVQ add+56(FP), BX
	TESTQ BX, BX
	JNZ  zvload
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	JMP  zvkeys
zvload:
	LEAQ (R11)(AX*4), BX
	VMOVUPS 0(BX), Z0
	VMOVUPS 64(BX), Z1
	ADDQ R13, BX
	VMOVUPS 0(BX), Z2
	VMOVUPS 64(BX), Z3
	ADDQ R13, BX
	VMOVUPS 0(BX), Z4
	VMOVUPS 64(BX), Z5
	ADDQ R13, BX
	VMOVUPS 0(BX), Z6
	VMOVUPS 64(BX), Z7
zvkeys:
	MOVQ SI, BX
	LEAQ (DI)(AX*2), CX
	MOVQ R10, R14
zvkey:
	VCVTPH2PS 0(CX), Z8
	VCVTPH2PS 32(CX), Z9
	VBROADCASTSS 0(BX), Z10
	VFMADD231PS Z10, Z8, Z0
	VFMADD231PS Z10, Z9, Z1
	VBROADCASTSS 0(BX)(R8*1), Z10
	VFMADD231PS Z10, Z8, Z2
	VFMADD231PS Z10, Z9, Z3
	VBROADCASTSS 0(BX)(R8*2), Z10
	VFMADD231PS Z10, Z8, Z4
	VFMADD231PS Z10, Z9, Z5
	VBROADCASTSS 0(BX)(R12*1), Z10
	VFMADD231PS Z10, Z8, Z6
	VFMADD231PS Z10, Z9, Z7
	ADDQ $4, BX
	ADDQ R9, CX
	DECQ R14
	JNZ  zvkey
	LEAQ (R11)(AX*4), BX
	VMOVUPS Z0, 0(BX)
	VMOVUPS Z1, 64(BX)
	ADDQ R13, BX
	VMOVUPS Z2, 0(BX)
	VMOVUPS Z3, 64(BX)
	ADDQ R13, BX
	VMOVUPS Z4, 0(BX)
	VMOVUPS Z5, 64(BX)
	ADDQ R13, BX
	VMOVUPS Z6, 0(BX)
	VMOVUPS Z7, 64(BX)
	ADDQ $32, AX
	JMP  zvchunk
zvdone:
	VZEROUPPER
	RET
