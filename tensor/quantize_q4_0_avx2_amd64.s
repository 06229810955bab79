//go:build amd64 && !noasm

#include "textflag.h"

DATA absmask<>+0(SB)/4, $0x7fffffff
GLOBL absmask<>(SB), RODATA|NOPTR, $4
DATA minus8<>+0(SB)/4, $0xc1000000
GLOBL minus8<>(SB), RODATA|NOPTR, $4
DATA eightHalf<>+0(SB)/4, $0x41080000
GLOBL eightHalf<>(SB), RODATA|NOPTR, $4
DATA one<>+0(SB)/4, $0x3f800000
GLOBL one<>(SB), RODATA|NOPTR, $4
DATA fifteen<>+0(SB)/4, $15
GLOBL fifteen<>(SB), RODATA|NOPTR, $4

// func quantizeQ4_0AVX2(x *float32, y *byte, nb int) int
TEXT ·quantizeQ4_0AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ nb+16(FP), CX
	XORQ R8, R8                    // block index
	VBROADCASTSS absmask<>(SB), Y15
	VBROADCASTSS eightHalf<>(SB), Y14
	VPBROADCASTD fifteen<>(SB), Y13
	TESTQ CX, CX
	JZ    q4done

q4block:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3

	// Any NaN: hand the block back to the Go code.
	VCMPPS $3, Y0, Y0, Y4
	VCMPPS $3, Y1, Y1, Y5
	VORPS  Y4, Y5, Y4
	VCMPPS $3, Y2, Y2, Y5
	VORPS  Y4, Y5, Y4
	VCMPPS $3, Y3, Y3, Y5
	VORPS  Y4, Y5, Y4
	VMOVMSKPS Y4, AX
	TESTL AX, AX
	JNZ   q4nan

	// |x| and its maximum, broadcast to every lane.
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VANDPS Y15, Y2, Y6
	VANDPS Y15, Y3, Y7
	VMAXPS Y4, Y5, Y8
	VMAXPS Y6, Y7, Y9
	VMAXPS Y8, Y9, Y8
	VEXTRACTF128 $1, Y8, X9
	VMAXPS  X8, X9, X8
	VPERMILPS $0x4e, X8, X9
	VMAXPS  X8, X9, X8
	VPERMILPS $0xb1, X8, X9
	VMAXPS  X8, X9, X8
	VBROADCASTSS X8, Y8            // amax

	// First element whose |x| equals amax: its signed value is ggml's max.
	VCMPPS $0, Y8, Y4, Y9
	VMOVMSKPS Y9, AX
	VCMPPS $0, Y8, Y5, Y9
	VMOVMSKPS Y9, BX
	SHLL $8, BX
	ORL  BX, AX
	VCMPPS $0, Y8, Y6, Y9
	VMOVMSKPS Y9, BX
	SHLL $16, BX
	ORL  BX, AX
	VCMPPS $0, Y8, Y7, Y9
	VMOVMSKPS Y9, BX
	SHLL $24, BX
	ORL  BX, AX
	BSFL AX, BX
	VMOVSS (SI)(BX*4), X10         // max (signed); amax > 0 or all zero (then index 0 holds ±0)

	// d = max / -8; id = d != 0 ? 1/d : 0.
	VMOVSS minus8<>(SB), X11
	VDIVSS X11, X10, X10           // X10 = d
	VMOVSS one<>(SB), X11
	VDIVSS X10, X11, X11           // X11 = 1/d
	VXORPS X12, X12, X12
	VCMPSS $4, X12, X10, X12       // d != 0
	VANDPS X12, X11, X11           // id
	VCVTPS2PH $0, X10, X12         // fp16(d), round to nearest even
	VMOVD  X12, AX
	MOVW   AX, 0(DI)
	VBROADCASTSS X11, Y11

	// q = min(15, trunc(x*id + 8.5)), four vectors of 8.
	VMULPS Y11, Y0, Y0
	VADDPS Y14, Y0, Y0
	VCVTTPS2DQ Y0, Y0
	VPMINSD Y13, Y0, Y0
	VMULPS Y11, Y1, Y1
	VADDPS Y14, Y1, Y1
	VCVTTPS2DQ Y1, Y1
	VPMINSD Y13, Y1, Y1
	VMULPS Y11, Y2, Y2
	VADDPS Y14, Y2, Y2
	VCVTTPS2DQ Y2, Y2
	VPMINSD Y13, Y2, Y2
	VMULPS Y11, Y3, Y3
	VADDPS Y14, Y3, Y3
	VCVTTPS2DQ Y3, Y3
	VPMINSD Y13, Y3, Y3

	// byte j = q[j] | q[j+16] << 4.
	VPSLLD $4, Y2, Y2
	VPOR   Y2, Y0, Y0              // j = 0..7
	VPSLLD $4, Y3, Y3
	VPOR   Y3, Y1, Y1              // j = 8..15
	VPACKUSDW Y1, Y0, Y0
	VPERMQ $0xd8, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB X1, X0, X0
	VMOVDQU X0, 2(DI)

	ADDQ $128, SI
	ADDQ $18, DI
	INCQ R8
	CMPQ R8, CX
	JL   q4block

q4done:
	VZEROUPPER
	MOVQ $-1, ret+24(FP)
	RET

q4nan:
	VZEROUPPER
	MOVQ R8, ret+24(FP)
	RET
