//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// Constants of the softmax exponential (expSumAVX512), as float64 bits: the Go code's constants exactly.
DATA expLog2e<>+0(SB)/8, $0x3ff71547652b82fe
GLOBL expLog2e<>(SB), RODATA|NOPTR, $8
DATA expHalf<>+0(SB)/8, $0x3fe0000000000000
GLOBL expHalf<>(SB), RODATA|NOPTR, $8
DATA expLn2<>+0(SB)/8, $0x3fe62e42fefa39ef
GLOBL expLn2<>(SB), RODATA|NOPTR, $8
DATA expC5040<>+0(SB)/8, $0x3f2a01a01a01a01a
GLOBL expC5040<>(SB), RODATA|NOPTR, $8
DATA expC720<>+0(SB)/8, $0x3f56c16c16c16c17
GLOBL expC720<>(SB), RODATA|NOPTR, $8
DATA expC120<>+0(SB)/8, $0x3f81111111111111
GLOBL expC120<>(SB), RODATA|NOPTR, $8
DATA expC24<>+0(SB)/8, $0x3fa5555555555555
GLOBL expC24<>(SB), RODATA|NOPTR, $8
DATA expC6<>+0(SB)/8, $0x3fc5555555555555
GLOBL expC6<>(SB), RODATA|NOPTR, $8
DATA expOne<>+0(SB)/8, $0x3ff0000000000000
GLOBL expOne<>(SB), RODATA|NOPTR, $8
DATA expLimit<>+0(SB)/4, $0xc2aeac4f
GLOBL expLimit<>(SB), RODATA|NOPTR, $4

// EXP8: the eight float32 values in Y1 (lanes valid in K1) become e^(v − mx) in Y10 (0 below the limit and
// in invalid lanes), with exactly the Go code's float64 steps (expSumGo), and are added to Z0 as float64.
#define EXP8 \
	VSUBPS  Y20, Y1, Y1 \
	VCMPPS  $13, Y21, Y1, K1, K2 \
	VCVTPS2PD Y1, Z3 \
	VMULPD  Z22, Z3, Z3 \
	VSUBPD  Z23, Z3, Z4 \
	VCVTTPD2DQ Z4, Y5 \
	VCVTDQ2PD Y5, Z6 \
	VSUBPD  Z6, Z3, Z7 \
	VMULPD  Z24, Z7, Z7 \
	VMULPD  Z25, Z7, Z8 \
	VADDPD  Z26, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z27, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z28, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z29, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z23, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z30, Z8, Z8 \
	VMULPD  Z8, Z7, Z8 \
	VADDPD  Z30, Z8, Z8 \
	VSCALEFPD Z6, Z8, Z8 \
	VCVTPD2PS Z8, Y9 \
	VMOVAPS.Z Y9, K2, Y10 \
	VCVTPS2PD Y10, Z11 \
	VADDPD  Z11, Z0, Z0

// func expSumAVX512(x *float32, n int, mx float32) float64
//
// x[i] = e^(x[i] − mx) for i < n (0 where x[i] − mx < −87.33654, the smallest normal's log), returning
// Σ x[i] in float64 summed in eight lanes, lane i%8, reduced as expSumGo reduces them.
TEXT ·expSumAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VBROADCASTSS mx+16(FP), Y20
	VBROADCASTSS expLimit<>(SB), Y21
	VBROADCASTSD expLog2e<>(SB), Z22
	VBROADCASTSD expHalf<>(SB), Z23
	VBROADCASTSD expLn2<>(SB), Z24
	VBROADCASTSD expC5040<>(SB), Z25
	VBROADCASTSD expC720<>(SB), Z26
	VBROADCASTSD expC120<>(SB), Z27
	VBROADCASTSD expC24<>(SB), Z28
	VBROADCASTSD expC6<>(SB), Z29
	VBROADCASTSD expOne<>(SB), Z30
	VPXORQ  Z0, Z0, Z0
	MOVL    $0xff, AX
	KMOVW   AX, K1
expfull:
	CMPQ CX, $8
	JLT  exptail
	VMOVUPS (SI), Y1
	EXP8
	VMOVUPS Y10, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  expfull
exptail:
	TESTQ CX, CX
	JZ   expsum
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Y1
	EXP8
	VMOVUPS Y10, K1, (SI)
expsum:
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD  Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD  X1, X0, X0
	VUNPCKHPD X0, X0, X1
	VADDSD  X1, X0, X0
	VZEROUPPER
	MOVSD X0, ret+24(FP)
	RET
