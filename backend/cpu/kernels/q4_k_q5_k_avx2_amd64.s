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
