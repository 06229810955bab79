//go:build amd64 && !noasm

#include "textflag.h"

// The softmax exponential in AVX2 (expSumAVX512's steps in 256-bit registers, without VSCALEFPD).

// The Taylor coefficients of expSumGo, four copies each (memory operands: AVX2 has too few registers
// to hold them all beside the other constants).
DATA exp2C5040<>+0(SB)/8, $0x3f2a01a01a01a01a
DATA exp2C5040<>+8(SB)/8, $0x3f2a01a01a01a01a
DATA exp2C5040<>+16(SB)/8, $0x3f2a01a01a01a01a
DATA exp2C5040<>+24(SB)/8, $0x3f2a01a01a01a01a
GLOBL exp2C5040<>(SB), RODATA|NOPTR, $32
DATA exp2C720<>+0(SB)/8, $0x3f56c16c16c16c17
DATA exp2C720<>+8(SB)/8, $0x3f56c16c16c16c17
DATA exp2C720<>+16(SB)/8, $0x3f56c16c16c16c17
DATA exp2C720<>+24(SB)/8, $0x3f56c16c16c16c17
GLOBL exp2C720<>(SB), RODATA|NOPTR, $32
DATA exp2C120<>+0(SB)/8, $0x3f81111111111111
DATA exp2C120<>+8(SB)/8, $0x3f81111111111111
DATA exp2C120<>+16(SB)/8, $0x3f81111111111111
DATA exp2C120<>+24(SB)/8, $0x3f81111111111111
GLOBL exp2C120<>(SB), RODATA|NOPTR, $32
DATA exp2C24<>+0(SB)/8, $0x3fa5555555555555
DATA exp2C24<>+8(SB)/8, $0x3fa5555555555555
DATA exp2C24<>+16(SB)/8, $0x3fa5555555555555
DATA exp2C24<>+24(SB)/8, $0x3fa5555555555555
GLOBL exp2C24<>(SB), RODATA|NOPTR, $32
DATA exp2C6<>+0(SB)/8, $0x3fc5555555555555
DATA exp2C6<>+8(SB)/8, $0x3fc5555555555555
DATA exp2C6<>+16(SB)/8, $0x3fc5555555555555
DATA exp2C6<>+24(SB)/8, $0x3fc5555555555555
GLOBL exp2C6<>(SB), RODATA|NOPTR, $32
DATA exp2Log2e<>+0(SB)/8, $0x3ff71547652b82fe
GLOBL exp2Log2e<>(SB), RODATA|NOPTR, $8
DATA exp2Half<>+0(SB)/8, $0x3fe0000000000000
GLOBL exp2Half<>(SB), RODATA|NOPTR, $8
DATA exp2Ln2<>+0(SB)/8, $0x3fe62e42fefa39ef
GLOBL exp2Ln2<>(SB), RODATA|NOPTR, $8
DATA exp2One<>+0(SB)/8, $0x3ff0000000000000
GLOBL exp2One<>(SB), RODATA|NOPTR, $8
DATA exp2Bias<>+0(SB)/8, $1023
GLOBL exp2Bias<>(SB), RODATA|NOPTR, $8
DATA exp2Limit<>+0(SB)/4, $0xc2aeac4f
GLOBL exp2Limit<>(SB), RODATA|NOPTR, $4

// EXP4 turns the four float64 exponents v (Y4 or Y5) into e^v in float64, expSumGo's steps: t = v·log2 e,
// n = int32(t − ½), y = (t − n)·ln 2, Horner's steps each rounded, times 2^n built in the exponent bits.
// Y6, Y7 are scratch.
#define EXP4(v, vx) \
	VMULPD  Y13, v, v \
	VSUBPD  Y12, v, Y6 \
	VCVTTPD2DQY Y6, X6 \
	VCVTDQ2PD X6, Y7 \
	VSUBPD  Y7, v, v \
	VMULPD  Y11, v, v \
	VMULPD  exp2C5040<>(SB), v, Y7 \
	VADDPD  exp2C720<>(SB), Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  exp2C120<>(SB), Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  exp2C24<>(SB), Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  exp2C6<>(SB), Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  Y12, Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  Y10, Y7, Y7 \
	VMULPD  Y7, v, Y7 \
	VADDPD  Y10, Y7, Y7 \
	VPMOVSXDQ X6, Y6 \
	VPADDQ  Y9, Y6, Y6 \
	VPSLLQ  $52, Y6, Y6 \
	VMULPD  Y6, Y7, v

// func expSum8AVX2(x *float32, n int, mx float32, acc *[8]float64)
//
// x[i] = e^(x[i] − mx) for i < n, n a multiple of 8 (0 where x[i] − mx < −87.33654 or is NaN), adding
// each to acc[i%8] in float64: expSumGo's values and lanes bit for bit.
TEXT ·expSum8AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ acc+24(FP), DI
	VBROADCASTSS mx+16(FP), Y15
	VBROADCASTSS exp2Limit<>(SB), Y14
	VBROADCASTSD exp2Log2e<>(SB), Y13
	VBROADCASTSD exp2Half<>(SB), Y12
	VBROADCASTSD exp2Ln2<>(SB), Y11
	VBROADCASTSD exp2One<>(SB), Y10
	VPBROADCASTQ exp2Bias<>(SB), Y9
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	SHRQ $3, CX
	JZ   e2done
e2loop:
	VMOVUPS (SI), Y2
	VSUBPS  Y15, Y2, Y2
	VCMPPS  $13, Y14, Y2, Y3     // d ≥ the limit (false for NaN)
	VCVTPS2PD X2, Y4
	EXP4(Y4, X4)
	VEXTRACTF128 $1, Y2, X5
	VCVTPS2PD X5, Y5
	EXP4(Y5, X5)
	VCVTPD2PSY Y4, X4
	VCVTPD2PSY Y5, X5
	VINSERTF128 $1, X5, Y4, Y4
	VANDPS  Y3, Y4, Y4
	VMOVUPS Y4, (SI)
	VCVTPS2PD X4, Y5
	VADDPD  Y5, Y0, Y0
	VEXTRACTF128 $1, Y4, X5
	VCVTPS2PD X5, Y5
	VADDPD  Y5, Y1, Y1
	ADDQ $32, SI
	DECQ CX
	JNZ  e2loop
e2done:
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VZEROUPPER
	RET
