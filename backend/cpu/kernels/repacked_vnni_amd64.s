//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX-512 VNNI kernels for Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows repacked at load.
// Register use: constants live in Z24–Z31, accumulators in Z8–Z15 so that the final reductions can use
// VEX-encoded 128/256-bit instructions.

DATA lowNibble<>+0(SB)/1, $0x0f
GLOBL lowNibble<>(SB), RODATA|NOPTR, $1

// ·spread2 (q4_0_q8_0_vnni_amd64.s) spreads two floats over the lanes of their blocks: [d0 ×8, d1 ×8].

// ---------------------------------------------------------------------------------------------------------
// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows repacked at load (repack.go) against activations in the repacked layout (q8acts.go):
// per group of four blocks, the weights of two block pairs (Q4_0: one 64-byte load whose low and high
// nibbles are the pairs; Q8_0: two loads of w+128) and four f16 scales converted at once. Per token and
// group: VPDPBUSD of each pair with its 64 activation bytes, converted to float and accumulated with FMA
// times the spread dw·da; the bias of the unsigned weights is removed in float, dw·(−bias·da·Σa) per
// block, in a four-lane accumulator.

DATA q5high<>+0(SB)/1, $0x10
GLOBL q5high<>(SB), RODATA|NOPTR, $1

DATA spread23<>+0(SB)/8, $0x0000000200000002
DATA spread23<>+8(SB)/8, $0x0000000200000002
DATA spread23<>+16(SB)/8, $0x0000000200000002
DATA spread23<>+24(SB)/8, $0x0000000200000002
DATA spread23<>+32(SB)/8, $0x0000000300000003
DATA spread23<>+40(SB)/8, $0x0000000300000003
DATA spread23<>+48(SB)/8, $0x0000000300000003
DATA spread23<>+56(SB)/8, $0x0000000300000003
GLOBL spread23<>(SB), RODATA|NOPTR, $64

// Z2, Z1: the unsigned weights of pairs A and B; X3: the four dw.
#define XWQ4 \
	VMOVDQU64 (DX), Z1 \
	VPANDQ  Z31, Z1, Z2 \
	VPSRLW  $4, Z1, Z1 \
	VPANDQ  Z31, Z1, Z1 \
	VCVTPH2PS (SI), X3 \
	VMOVAPS X3, X15

// Q5_0: Q4_0's nibbles plus 16 where the pair's 64 qh bits (at BX) are set.
#define XWQ5_0 \
	XWQ4 \
	PREFETCHT0 2048(BX) \
	KMOVQ 0(BX), K1 \
	KMOVQ 8(BX), K2 \
	VPADDB  Z30, Z2, K1, Z2 \
	VPADDB  Z30, Z1, K2, Z1 \
	ADDQ $16, BX

// Q4_1: unsigned nibbles (no bias); the bias term is m·(da·Σa), with the four mins (at R13) in X15.
#define XWQ4_1 \
	VMOVDQU64 (DX), Z1 \
	VPANDQ  Z31, Z1, Z2 \
	VPSRLW  $4, Z1, Z1 \
	VPANDQ  Z31, Z1, Z1 \
	VCVTPH2PS (SI), X3 \
	VCVTPH2PS (R13), X15 \
	PREFETCHT0 1024(R13) \
	ADDQ $8, R13

#define XWQ5_1 \
	XWQ4_1 \
	PREFETCHT0 2048(BX) \
	KMOVQ 0(BX), K1 \
	KMOVQ 8(BX), K2 \
	VPADDB  Z30, Z2, K1, Z2 \
	VPADDB  Z30, Z1, K2, Z1 \
	ADDQ $16, BX

#define XWQ8 \
	VMOVDQU64 (DX), Z2 \
	VMOVDQU64 64(DX), Z1 \
	VCVTPH2PS (SI), X3 \
	VMOVAPS X3, X15

// Row layouts after the scales (8·groups bytes at SI): Q4_1 the mins (R13), Q5_0 the qh words (BX),
// Q5_1 the mins then the qh words.
#define NOINIT
#define INIT5_0 LEAQ (SI)(CX*8), BX
#define INIT4_1 LEAQ (SI)(CX*8), R13
#define INIT5_1 LEAQ (SI)(CX*8), R13; LEAQ (R13)(CX*8), BX

#define XTOKEN(qa, qb, da, c, acc, accb, cacc) \
	VMULPS  da, X3, X6 \
	VPERMPS Z6, Z27, Z7 \
	VPERMPS Z6, Z26, Z6 \
	VPXORD  Z4, Z4, Z4 \
	VPDPBUSD qa, Z2, Z4 \
	VCVTDQ2PS Z4, Z4 \
	VFMADD231PS Z7, Z4, acc \
	VPXORD  Z5, Z5, Z5 \
	VPDPBUSD qb, Z1, Z5 \
	VCVTDQ2PS Z5, Z5 \
	VFMADD231PS Z6, Z5, accb \
	VFMADD231PS c, X15, cacc

#define XCONSTS \
	VPBROADCASTB lowNibble<>(SB), Z31 \
	VPBROADCASTB q5high<>(SB), Z30 \
	VMOVDQU64 ·spread2(SB), Z27 \
	VMOVDQU64 spread23<>(SB), Z26

// Result: the 16 lanes of acc plus the 4 of cacc (whose upper lanes are zero), in Xacc.
#define XRESULT(zacc, yacc, xacc, zc) \
	VADDPS  zc, zacc, zacc \
	HSUM(zacc, yacc, xacc, Y12, X12)

// Decoding streams each weight once from memory: software prefetches 8 KiB ahead keep more misses in
// flight than the hardware prefetcher alone (+20 % per core, BenchmarkMatVec/Q4_0r/stream/x1).
#define PF64 PREFETCHT0 8192(DX)
#define PF128 PREFETCHT0 8192(DX); PREFETCHT0 8256(DX)

// GEMVX1 and GEMVX4 run the same steps per token in the same order, into one accumulator per token, so
// that the four-token kernel gives each token exactly the one-token kernel's result: a batch of
// sequences can then share a pass over the weights without changing any of them (Traits.RowsExact).
// Both prefetch: in a decode batch the four-token kernel streams the weights from memory too.
#define GEMVX1(WEIGHTS, wbytes, PF, INIT) \
	MOVQ scales+0(FP), SI \
	MOVQ weights+8(FP), DX \
	MOVQ act+16(FP), DI \
	MOVQ groups+24(FP), CX \
	INIT \
	XCONSTS \
	VPXORD Z8, Z8, Z8 \
	VPXORD X16, X16, X16 \
loop: \
	PF \
	WEIGHTS \
	XTOKEN(0(DI), 64(DI), 128(DI), 144(DI), Z8, Z8, X16) \
	ADDQ $8, SI \
	ADDQ $wbytes, DX \
	ADDQ $160, DI \
	DECQ CX \
	JNZ  loop \
	XRESULT(Z8, Y8, X8, Z16) \
	VZEROUPPER \
	MOVSS X8, ret+32(FP) \
	RET

#define GEMVX4(WEIGHTS, wbytes, PF, INIT) \
	MOVQ scales+0(FP), SI \
	MOVQ weights+8(FP), DX \
	MOVQ act+16(FP), DI \
	MOVQ groups+24(FP), CX \
	INIT \
	MOVQ stride+32(FP), R11 \
	LEAQ (R11)(R11*2), R12 \
	XCONSTS \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD X16, X16, X16 \
	VPXORD X17, X17, X17 \
	VPXORD X18, X18, X18 \
	VPXORD X19, X19, X19 \
loop: \
	PF \
	WEIGHTS \
	XTOKEN(0(DI), 64(DI), 128(DI), 144(DI), Z8, Z8, X16) \
	XTOKEN(0(DI)(R11*1), 64(DI)(R11*1), 128(DI)(R11*1), 144(DI)(R11*1), Z9, Z9, X17) \
	XTOKEN(0(DI)(R11*2), 64(DI)(R11*2), 128(DI)(R11*2), 144(DI)(R11*2), Z10, Z10, X18) \
	XTOKEN(0(DI)(R12*1), 64(DI)(R12*1), 128(DI)(R12*1), 144(DI)(R12*1), Z11, Z11, X19) \
	ADDQ $8, SI \
	ADDQ $wbytes, DX \
	ADDQ $160, DI \
	DECQ CX \
	JNZ  loop \
	XRESULT(Z8, Y8, X8, Z16) \
	XRESULT(Z9, Y9, X9, Z17) \
	XRESULT(Z10, Y10, X10, Z18) \
	XRESULT(Z11, Y11, X11, Z19) \
	MOVQ out+40(FP), DX \
	VMOVSS X8, 0(DX) \
	VMOVSS X9, 4(DX) \
	VMOVSS X10, 8(DX) \
	VMOVSS X11, 12(DX) \
	VZEROUPPER \
	RET

// func gemv1Q4_0X4VNNI(scales, weights, act *byte, groups int) float32
TEXT ·gemv1Q4_0X4VNNI(SB), NOSPLIT, $0-36
	GEMVX1(XWQ4, 64, PF64, NOINIT)

// func gemv1Q8_0X4VNNI(scales, weights, act *byte, groups int) float32
TEXT ·gemv1Q8_0X4VNNI(SB), NOSPLIT, $0-36
	GEMVX1(XWQ8, 128, PF128, NOINIT)

// func gemv4Q4_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)
TEXT ·gemv4Q4_0X4VNNI(SB), NOSPLIT, $0-48
	GEMVX4(XWQ4, 64, PF64, NOINIT)

// func gemv4Q8_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)
TEXT ·gemv4Q8_0X4VNNI(SB), NOSPLIT, $0-48
	GEMVX4(XWQ8, 128, PF128, NOINIT)

// func gemv1Q4_1X4VNNI(scales, weights, act *byte, groups int) float32
TEXT ·gemv1Q4_1X4VNNI(SB), NOSPLIT, $0-36
	GEMVX1(XWQ4_1, 64, PF64, INIT4_1)

// func gemv1Q5_0X4VNNI(scales, weights, act *byte, groups int) float32
TEXT ·gemv1Q5_0X4VNNI(SB), NOSPLIT, $0-36
	GEMVX1(XWQ5_0, 64, PF64, INIT5_0)

// func gemv1Q5_1X4VNNI(scales, weights, act *byte, groups int) float32
TEXT ·gemv1Q5_1X4VNNI(SB), NOSPLIT, $0-36
	GEMVX1(XWQ5_1, 64, PF64, INIT5_1)

// func gemv4Q4_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)
TEXT ·gemv4Q4_1X4VNNI(SB), NOSPLIT, $0-48
	GEMVX4(XWQ4_1, 64, PF64, INIT4_1)

// func gemv4Q5_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)
TEXT ·gemv4Q5_0X4VNNI(SB), NOSPLIT, $0-48
	GEMVX4(XWQ5_0, 64, PF64, INIT5_0)

// func gemv4Q5_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)
TEXT ·gemv4Q5_1X4VNNI(SB), NOSPLIT, $0-48
	GEMVX4(XWQ5_1, 64, PF64, INIT5_1)
