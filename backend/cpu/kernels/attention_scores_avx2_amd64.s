//go:build amd64 && !noasm

#include "textflag.h"

// Attention's scores for sixteen query heads that share a KV head, AVX2: the heads across two registers.

// func attnScores16F16AVX2(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32)
//
// attnScores16F16AVX512 with blocks of four keys: the four keys are decoded into scratch (rows 512 bytes
// apart), eight accumulators (key j's heads 0–7 and 8–15) gather Σ_d qt[16d:16d+16] · key_j[d], the
// maximum and check go to stat, and two 4×8 transposes store each head's four scores at
// out + h·sstride + 4·(4b+j). hd is a multiple of 16 in [16, 128]; nblocks at least 1.
TEXT ·attnScores16F16AVX2(SB), NOSPLIT, $0-72
	MOVQ qt+0(FP), SI
	MOVQ keys+8(FP), DI
	MOVQ kstride+16(FP), R8
	MOVQ nblocks+24(FP), R10
	MOVQ hd+32(FP), DX
	MOVQ scratch+40(FP), R11
	MOVQ out+48(FP), R12
	MOVQ sstride+56(FP), R13
	MOVQ stat+64(FP), R14
	LEAQ (DX)(DX*1), R15       // bytes of one key row
	LEAQ (R13)(R13*2), R9      // three heads' scores
ysblock:
	MOVQ DI, AX
	MOVQ R11, BX
	MOVQ $4, CX
ysconv:
	XORQ DX, DX
ysconvc:
	VCVTPH2PS (AX)(DX*1), Y0
	VMOVUPS Y0, (BX)(DX*2)
	ADDQ $16, DX
	CMPQ DX, R15
	JLT  ysconvc
	ADDQ R8, AX
	ADDQ $512, BX
	DECQ CX
	JNZ  ysconv
	LEAQ (DI)(R8*4), DI        // the next block's keys
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ SI, AX
	MOVQ R11, BX
	MOVQ R15, CX
	SHRQ $1, CX                // dimensions
ysdim:
	VMOVUPS (AX), Y8
	VMOVUPS 32(AX), Y9
	VBROADCASTSS 0(BX), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y1
	VBROADCASTSS 512(BX), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y3
	VBROADCASTSS 1024(BX), Y10
	VFMADD231PS Y10, Y8, Y4
	VFMADD231PS Y10, Y9, Y5
	VBROADCASTSS 1536(BX), Y10
	VFMADD231PS Y10, Y8, Y6
	VFMADD231PS Y10, Y9, Y7
	ADDQ $64, AX
	ADDQ $4, BX
	DECQ CX
	JNZ  ysdim
	// The running maximum per head and the NaN/infinity check (heads 0–7, then 8–15).
	VMAXPS Y2, Y0, Y8
	VMAXPS Y6, Y4, Y9
	VMAXPS Y9, Y8, Y8
	VMAXPS 0(R14), Y8, Y8
	VMOVUPS Y8, 0(R14)
	VMAXPS Y3, Y1, Y8
	VMAXPS Y7, Y5, Y9
	VMAXPS Y9, Y8, Y8
	VMAXPS 32(R14), Y8, Y8
	VMOVUPS Y8, 32(R14)
	VXORPS Y10, Y10, Y10
	VADDPS Y2, Y0, Y8
	VADDPS Y6, Y4, Y9
	VADDPS Y9, Y8, Y8
	VMOVUPS 64(R14), Y11
	VFMADD231PS Y10, Y8, Y11
	VMOVUPS Y11, 64(R14)
	VADDPS Y3, Y1, Y8
	VADDPS Y7, Y5, Y9
	VADDPS Y9, Y8, Y8
	VMOVUPS 96(R14), Y11
	VFMADD231PS Y10, Y8, Y11
	VMOVUPS Y11, 96(R14)
	// Heads 0–7: rows = keys, lanes = heads → each head's four keys.
	VUNPCKLPS Y2, Y0, Y8
	VUNPCKHPS Y2, Y0, Y9
	VUNPCKLPS Y6, Y4, Y10
	VUNPCKHPS Y6, Y4, Y11
	VUNPCKLPD Y10, Y8, Y12
	VUNPCKHPD Y10, Y8, Y13
	VUNPCKLPD Y11, Y9, Y14
	VUNPCKHPD Y11, Y9, Y15
	MOVQ R12, BX
	LEAQ (BX)(R13*4), AX
	VMOVUPS X12, (BX)
	VMOVUPS X13, (BX)(R13*1)
	VMOVUPS X14, (BX)(R13*2)
	VMOVUPS X15, (BX)(R9*1)
	VEXTRACTF128 $1, Y12, (AX)
	VEXTRACTF128 $1, Y13, (AX)(R13*1)
	VEXTRACTF128 $1, Y14, (AX)(R13*2)
	VEXTRACTF128 $1, Y15, (AX)(R9*1)
	// Heads 8–15: rows = keys, lanes = heads → each head's four keys.
	VUNPCKLPS Y3, Y1, Y8
	VUNPCKHPS Y3, Y1, Y9
	VUNPCKLPS Y7, Y5, Y10
	VUNPCKHPS Y7, Y5, Y11
	VUNPCKLPD Y10, Y8, Y12
	VUNPCKHPD Y10, Y8, Y13
	VUNPCKLPD Y11, Y9, Y14
	VUNPCKHPD Y11, Y9, Y15
	LEAQ (R12)(R13*8), BX
	LEAQ (BX)(R13*4), AX
	VMOVUPS X12, (BX)
	VMOVUPS X13, (BX)(R13*1)
	VMOVUPS X14, (BX)(R13*2)
	VMOVUPS X15, (BX)(R9*1)
	VEXTRACTF128 $1, Y12, (AX)
	VEXTRACTF128 $1, Y13, (AX)(R13*1)
	VEXTRACTF128 $1, Y14, (AX)(R13*2)
	VEXTRACTF128 $1, Y15, (AX)(R9*1)
	ADDQ $16, R12
	DECQ R10
	JNZ  ysblock
	VZEROUPPER
	RET
