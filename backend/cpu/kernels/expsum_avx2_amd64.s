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

// EXPCONSTS loads what EXPPOLY and the exponentials keep in registers: the float32 limit (Y14), log2 e
// (Y13), ½ (Y12), ln 2 (Y11), 1 (Y10), the exponent bias (Y9).
#define EXPCONSTS \
	VBROADCASTSS exp2Limit<>(SB), Y14 \
	VBROADCASTSD exp2Log2e<>(SB), Y13 \
	VBROADCASTSD exp2Half<>(SB), Y12 \
	VBROADCASTSD exp2Ln2<>(SB), Y11 \
	VBROADCASTSD exp2One<>(SB), Y10 \
	VPBROADCASTQ exp2Bias<>(SB), Y9

// EXPPOLY ends both exponentials: v = t − n (n in X6 as int32), y = v·ln 2, Horner's steps each
// rounded, times 2^n built in the exponent bits. Y6, Y7 are scratch.
#define EXPPOLY(v) \
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

// EXP4 turns the four float64 exponents v (Y4 or Y5) into e^v in float64, expSumGo's steps: t = v·log2 e,
// n = int32(t − ½), y = (t − n)·ln 2, Horner's steps each rounded, times 2^n built in the exponent bits.
// Y6, Y7 are scratch.
#define EXP4(v, vx) \
	VMULPD  Y13, v, v \
	VSUBPD  Y12, v, Y6 \
	VCVTTPD2DQY Y6, X6 \
	VCVTDQ2PD X6, Y7 \
	VSUBPD  Y7, v, v \
	EXPPOLY(v)

// func expSum8AVX2(x *float32, n int, mx float32, acc *[8]float64)
//
// x[i] = e^(x[i] − mx) for i < n, n a multiple of 8 (0 where x[i] − mx < −87.33654 or is NaN), adding
// each to acc[i%8] in float64: expSumGo's values and lanes bit for bit.
TEXT ·expSum8AVX2(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ acc+24(FP), DI
	VBROADCASTSS mx+16(FP), Y15
	EXPCONSTS
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

// SiLUMul's exponentials (silu.go): e^v for v = −g, over the whole range, with n = int32(t + 128.5) − 128
// (t > −128.5, so truncation is floor) instead of the softmax's t − ½.
DATA siluTop<>+0(SB)/4, $0x42b20000 // 89
DATA siluTop<>+4(SB)/4, $0x42b20000
DATA siluTop<>+8(SB)/4, $0x42b20000
DATA siluTop<>+12(SB)/4, $0x42b20000
DATA siluTop<>+16(SB)/4, $0x42b20000
DATA siluTop<>+20(SB)/4, $0x42b20000
DATA siluTop<>+24(SB)/4, $0x42b20000
DATA siluTop<>+28(SB)/4, $0x42b20000
GLOBL siluTop<>(SB), RODATA|NOPTR, $32
DATA silu128<>+0(SB)/4, $128
DATA silu128<>+4(SB)/4, $128
DATA silu128<>+8(SB)/4, $128
DATA silu128<>+12(SB)/4, $128
GLOBL silu128<>(SB), RODATA|NOPTR, $16
DATA siluShift<>+0(SB)/8, $0x4060100000000000 // 128.5
GLOBL siluShift<>(SB), RODATA|NOPTR, $8
DATA siluSign<>+0(SB)/4, $0x80000000
GLOBL siluSign<>(SB), RODATA|NOPTR, $4
DATA siluOne<>+0(SB)/4, $0x3f800000
GLOBL siluOne<>(SB), RODATA|NOPTR, $4

// EXPS4 is EXP4 with SiLU's rounding of t (Y8 = 128.5).
#define EXPS4(v) \
	VMULPD  Y13, v, v \
	VADDPD  Y8, v, Y6 \
	VCVTTPD2DQY Y6, X6 \
	VPSUBD  silu128<>(SB), X6, X6 \
	VCVTDQ2PD X6, Y7 \
	VSUBPD  Y7, v, v \
	EXPPOLY(v)

// func siluMul8AVX2(dst, gate, up *float32, n int)
//
// dst[i] = gate[i] / (1 + e^−gate[i]) · up[i] for i < n, n a multiple of 8: siluMulLanes's values bit for bit.
TEXT ·siluMul8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ up+16(FP), DX
	MOVQ n+24(FP), CX
	VBROADCASTSS siluSign<>(SB), Y15
	EXPCONSTS
	VBROADCASTSD siluShift<>(SB), Y8
	VBROADCASTSS siluOne<>(SB), Y3
	SHRQ $3, CX
	JZ   silu2done
silu2loop:
	VMOVUPS (SI), Y0
	VXORPS  Y15, Y0, Y1          // v = −g
	VMINPS  siluTop<>(SB), Y1, Y1 // min(v, 89), and NaN becomes 89
	VCMPPS  $1, Y14, Y1, Y2      // v < the limit: e^v is 0
	VCVTPS2PD X1, Y4
	EXPS4(Y4)
	VEXTRACTF128 $1, Y1, X5
	VCVTPS2PD X5, Y5
	EXPS4(Y5)
	VCVTPD2PSY Y4, X4
	VCVTPD2PSY Y5, X5
	VINSERTF128 $1, X5, Y4, Y4
	VANDNPS Y4, Y2, Y4
	VADDPS  Y3, Y4, Y4
	VDIVPS  Y4, Y0, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, DI
	DECQ CX
	JNZ  silu2loop
silu2done:
	VZEROUPPER
	RET
