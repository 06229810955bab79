//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX2 Q4_K·Q8_K and Q5_K·Q8_K dots for CPUs without AVX-512, bit-identical to dot_kquant.go like the
// AVX-512 ones: the same scale unpacking in general registers, one 32-value sub-block per vector, its
// scale spread by VPSHUFB from the eight scale words (held in both lanes of Y13).

DATA k2Low<>+0(SB)/1, $0x0f
GLOBL k2Low<>(SB), RODATA|NOPTR, $1
DATA k2Sixteen<>+0(SB)/1, $0x10
GLOBL k2Sixteen<>(SB), RODATA|NOPTR, $1
DATA k2Bits<>+0(SB)/8, $0x8040201008040201
GLOBL k2Bits<>(SB), RODATA|NOPTR, $8

DATA k2sc<>+0(SB)/8, $0x0100010001000100
DATA k2sc<>+8(SB)/8, $0x0100010001000100
DATA k2sc<>+16(SB)/8, $0x0100010001000100
DATA k2sc<>+24(SB)/8, $0x0100010001000100
DATA k2sc<>+32(SB)/8, $0x0302030203020302
DATA k2sc<>+40(SB)/8, $0x0302030203020302
DATA k2sc<>+48(SB)/8, $0x0302030203020302
DATA k2sc<>+56(SB)/8, $0x0302030203020302
DATA k2sc<>+64(SB)/8, $0x0504050405040504
DATA k2sc<>+72(SB)/8, $0x0504050405040504
DATA k2sc<>+80(SB)/8, $0x0504050405040504
DATA k2sc<>+88(SB)/8, $0x0504050405040504
DATA k2sc<>+96(SB)/8, $0x0706070607060706
DATA k2sc<>+104(SB)/8, $0x0706070607060706
DATA k2sc<>+112(SB)/8, $0x0706070607060706
DATA k2sc<>+120(SB)/8, $0x0706070607060706
DATA k2sc<>+128(SB)/8, $0x0908090809080908
DATA k2sc<>+136(SB)/8, $0x0908090809080908
DATA k2sc<>+144(SB)/8, $0x0908090809080908
DATA k2sc<>+152(SB)/8, $0x0908090809080908
DATA k2sc<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k2sc<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k2sc<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k2sc<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k2sc<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k2sc<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k2sc<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k2sc<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k2sc<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k2sc<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k2sc<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k2sc<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k2sc<>(SB), RODATA|NOPTR, $256
DATA k2mins<>+0(SB)/8, $0x0302030201000100
DATA k2mins<>+8(SB)/8, $0x0706070605040504
DATA k2mins<>+16(SB)/8, $0x0b0a0b0a09080908
DATA k2mins<>+24(SB)/8, $0x0f0e0f0e0d0c0d0c
GLOBL k2mins<>(SB), RODATA|NOPTR, $32


// Scales (Y13) and mins (Y12) of the super-block at SI, eight words each, in both lanes.
#define K2SCALES \
	KUNPACK \
	VMOVQ R8, X13 \
	VPMOVZXBW X13, X13 \
	VINSERTI128 $1, X13, Y13, Y13 \
	VMOVQ R10, X12 \
	VPMOVZXBW X12, X12 \
	VINSERTI128 $1, X12, Y12, Y12

// acc += sub-block j's values (v) · its activations, times its scale.
#define K2SUB(v, j) \
	VPMADDUBSW (4+32*j)(DI), v, v \
	VPSHUFB k2sc<>+(32*j)(SB), Y13, Y7 \
	VPMADDWD Y7, v, v \
	VPADDD  v, Y8, Y8

// Q5_K: v |= 16 where bit j of qh (Y2) is set.
#define K2HIGH(v, j) \
	VPBROADCASTB k2Bits<>+j(SB), Y6 \
	VPAND   Y2, Y6, Y5 \
	VPCMPEQB Y6, Y5, Y5 \
	VPAND   Y14, Y5, Y5 \
	VPOR    Y5, v, v
#define K2NOHIGH(v, j)

// Chunk c of 64 values: the 32 bytes at qs(SI), low nibbles sub-block 2c, high 2c+1.
#define K2CHUNK(qs, jlo, jhi, HIGH) \
	VMOVDQU qs(SI), Y0 \
	VPAND   Y15, Y0, Y3 \
	VPSRLW  $4, Y0, Y4 \
	VPAND   Y15, Y4, Y4 \
	HIGH(Y3, jlo) \
	HIGH(Y4, jhi) \
	K2SUB(Y3, jlo) \
	K2SUB(Y4, jhi)

#define K2FINISH \
	VPSHUFB k2mins<>(SB), Y12, Y12 \
	VPMADDWD 260(DI), Y12, Y12 \
	HSUMI8(Y12, X12, X9) \
	HSUMI8(Y8, X8, X9) \
	SCALEADD(VADDSS, X8, 0, X10, X1) \
	SCALEADD(VSUBSS, X12, 2, X11, X1)

// The four-token Q4_K and Q5_K kernels: a super-block's values are unpacked and each sub-block's scale
// spread once for the four tokens (activations at R13, R14, DI and BX, int32 sums in Y8–Y11); at the end
// of the block their sums and min sums are reduced together, token t in lane t, and the float steps of
// SCALEADD run four lanes at a time (the same operations per lane, so each token gets the one-token
// kernel's bits).

// K4SUB adds sub-block j's products (values v, scales spread in sp) for the token at p to acc.
#define K4SUB(v, sp, j, p, acc) \
	VPMADDUBSW (4+32*j)(p), v, Y5 \
	VPMADDWD sp, Y5, Y5 \
	VPADDD  Y5, acc, acc

// K4CHUNK is chunk c of 64 values (K2CHUNK) for the four tokens; HIGH adds Q5_K's fifth bits.
#define K4CHUNK(qs, jlo, jhi, HIGH) \
	VMOVDQU qs(SI), Y0 \
	VPAND   Y15, Y0, Y3 \
	VPSRLW  $4, Y0, Y4 \
	VPAND   Y15, Y4, Y4 \
	HIGH(Y3, jlo) \
	HIGH(Y4, jhi) \
	VPSHUFB k2sc<>+(32*jlo)(SB), Y13, Y6 \
	VPSHUFB k2sc<>+(32*jhi)(SB), Y13, Y7 \
	K4SUB(Y3, Y6, jlo, R13, Y8) \
	K4SUB(Y4, Y7, jhi, R13, Y8) \
	K4SUB(Y3, Y6, jlo, R14, Y9) \
	K4SUB(Y4, Y7, jhi, R14, Y9) \
	K4SUB(Y3, Y6, jlo, DI, Y10) \
	K4SUB(Y4, Y7, jhi, DI, Y10) \
	K4SUB(Y3, Y6, jlo, BX, Y11) \
	K4SUB(Y4, Y7, jhi, BX, Y11)

#define K4START \
	K2SCALES \
	MOVQ a3+32(FP), BX \
	VPXOR   Y8, Y8, Y8 \
	VPXOR   Y9, Y9, Y9 \
	VPXOR   Y10, Y10, Y10 \
	VPXOR   Y11, Y11, Y11

// K4FINISH: the min sums (the mins spread over the activations' sixteen sub-sums), both reductions, the
// four tokens' da in X5, then acc (X1) += float(isum)·(d·da) and −= float(msum)·(dmin·da); the next block.
#define K4FINISH(wstep) \
	VPSHUFB k2mins<>(SB), Y12, Y12 \
	VPMADDWD 260(R13), Y12, Y0 \
	VPMADDWD 260(R14), Y12, Y3 \
	VPMADDWD 260(DI), Y12, Y4 \
	VPMADDWD 260(BX), Y12, Y7 \
	HSUM4(Y8, Y9, Y10, Y11, X8, X5) \
	HSUM4(Y0, Y3, Y4, Y7, X0, X5) \
	VMOVSS  0(R13), X5 \
	VINSERTPS $0x10, 0(R14), X5, X5 \
	VINSERTPS $0x20, 0(DI), X5, X5 \
	VINSERTPS $0x30, 0(BX), X5, X5 \
	MOVWLZX 0(SI), AX \
	VMOVD   AX, X6 \
	VCVTPH2PS X6, X6 \
	VBROADCASTSS X6, X6 \
	VMULPS  X5, X6, X6 \
	VCVTDQ2PS X8, X8 \
	VMULPS  X6, X8, X8 \
	VADDPS  X8, X1, X1 \
	MOVWLZX 2(SI), AX \
	VMOVD   AX, X7 \
	VCVTPH2PS X7, X7 \
	VBROADCASTSS X7, X7 \
	VMULPS  X5, X7, X7 \
	VCVTDQ2PS X0, X0 \
	VMULPS  X7, X0, X0 \
	VSUBPS  X0, X1, X1 \
	ADDQ $wstep, SI \
	ADDQ $292, R13 \
	ADDQ $292, R14 \
	ADDQ $292, DI \
	ADDQ $292, a3+32(FP)

#define K4LOAD \
	MOVQ w+0(FP), SI \
	MOVQ a0+8(FP), R13 \
	MOVQ a1+16(FP), R14 \
	MOVQ a2+24(FP), DI \
	MOVQ nb+40(FP), CX \
	VPBROADCASTB k2Low<>(SB), Y15 \
	VXORPS X1, X1, X1

#define K4STORE \
	MOVQ out+48(FP), DX \
	VMOVUPS X1, (DX) \
	VZEROUPPER \
	RET

// func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB k2Low<>(SB), Y15
	VXORPS X1, X1, X1
q4k2loop:
	PREFETCHT0 1152(SI) // eight blocks ahead
	PREFETCHT0 1216(SI)
	PREFETCHT0 1280(SI)
	K2SCALES
	VPXOR   Y8, Y8, Y8
	K2CHUNK(16, 0, 1, K2NOHIGH)
	K2CHUNK(48, 2, 3, K2NOHIGH)
	K2CHUNK(80, 4, 5, K2NOHIGH)
	K2CHUNK(112, 6, 7, K2NOHIGH)
	K2FINISH
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4k2loop
	VZEROUPPER
	MOVSS X1, ret+24(FP)
	RET

// func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB k2Low<>(SB), Y15
	VPBROADCASTB k2Sixteen<>(SB), Y14
	VXORPS X1, X1, X1
q5k2loop:
	PREFETCHT0 1408(SI) // eight blocks ahead
	PREFETCHT0 1472(SI)
	PREFETCHT0 1536(SI)
	K2SCALES
	VMOVDQU 16(SI), Y2
	VPXOR   Y8, Y8, Y8
	K2CHUNK(48, 0, 1, K2HIGH)
	K2CHUNK(80, 2, 3, K2HIGH)
	K2CHUNK(112, 4, 5, K2HIGH)
	K2CHUNK(144, 6, 7, K2HIGH)
	K2FINISH
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5k2loop
	VZEROUPPER
	MOVSS X1, ret+24(FP)
	RET

// func dot4Q4_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)
TEXT ·dot4Q4_KQ8_KAVX2(SB), NOSPLIT, $0-56
	K4LOAD
q4k4loop:
	PREFETCHT0 1152(SI) // eight blocks ahead
	PREFETCHT0 1216(SI)
	PREFETCHT0 1280(SI)
	K4START
	K4CHUNK(16, 0, 1, K2NOHIGH)
	K4CHUNK(48, 2, 3, K2NOHIGH)
	K4CHUNK(80, 4, 5, K2NOHIGH)
	K4CHUNK(112, 6, 7, K2NOHIGH)
	K4FINISH(144)
	DECQ CX
	JNZ  q4k4loop
	K4STORE

// func dot4Q5_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)
TEXT ·dot4Q5_KQ8_KAVX2(SB), NOSPLIT, $0-56
	K4LOAD
	VPBROADCASTB k2Sixteen<>(SB), Y14
q5k4loop:
	PREFETCHT0 1408(SI) // eight blocks ahead
	PREFETCHT0 1472(SI)
	PREFETCHT0 1536(SI)
	K4START
	VMOVDQU 16(SI), Y2
	K4CHUNK(48, 0, 1, K2HIGH)
	K4CHUNK(80, 2, 3, K2HIGH)
	K4CHUNK(112, 4, 5, K2HIGH)
	K4CHUNK(144, 6, 7, K2HIGH)
	K4FINISH(176)
	DECQ CX
	JNZ  q5k4loop
	K4STORE
