//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX2 Q6_K·Q8_K dot for CPUs without AVX-512, bit-identical to the Go code like the AVX-512 one:
// per 128-value half, four vectors of 32 six-bit values (the shifted qh bits masked to bits 4–5, which
// also clears what a 16-bit shift carries over from the neighbouring byte), VPMADDUBSW with the
// activations, VPMADDWD with the two sub-block scales of each vector, spread by VPSHUFB from the half's
// eight scales.

DATA avx2Low<>+0(SB)/1, $0x0f
GLOBL avx2Low<>(SB), RODATA|NOPTR, $1
DATA avx2Bits45<>+0(SB)/1, $0x30
GLOBL avx2Bits45<>(SB), RODATA|NOPTR, $1

DATA q6shuf<>+0(SB)/8, $0x0100010001000100
DATA q6shuf<>+8(SB)/8, $0x0100010001000100
DATA q6shuf<>+16(SB)/8, $0x0302030203020302
DATA q6shuf<>+24(SB)/8, $0x0302030203020302
DATA q6shuf<>+32(SB)/8, $0x0504050405040504
DATA q6shuf<>+40(SB)/8, $0x0504050405040504
DATA q6shuf<>+48(SB)/8, $0x0706070607060706
DATA q6shuf<>+56(SB)/8, $0x0706070607060706
DATA q6shuf<>+64(SB)/8, $0x0908090809080908
DATA q6shuf<>+72(SB)/8, $0x0908090809080908
DATA q6shuf<>+80(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6shuf<>+88(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA q6shuf<>+96(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6shuf<>+104(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA q6shuf<>+112(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA q6shuf<>+120(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL q6shuf<>(SB), RODATA|NOPTR, $128

// acc += (values of v) · activations at a(DI), weighted by the scales spread with table k.
#define Q6VEC(v, aoff, k) \
	VPMADDUBSW aoff(DI), v, v \
	VMOVDQU q6shuf<>+(32*k)(SB), Y7 \
	VPSHUFB Y7, Y6, Y7 \
	VPMADDWD Y7, v, v \
	VPADDD  v, Y8, Y8

// One half: ql at qloff(SI) (64 bytes), qh at qhoff(SI) (32), activations from aoff(DI), scales of the
// half broadcast to both lanes of Y6.
#define Q6HALF2(qloff, qhoff, aoff, lane) \
	VPERM2I128 $lane, Y5, Y5, Y6 \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU (qloff+32)(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	VPSLLW  $4, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPAND   Y15, Y0, Y4 \
	VPOR    Y3, Y4, Y4 \
	Q6VEC(Y4, aoff, 0) \
	VPSLLW  $2, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPAND   Y15, Y1, Y4 \
	VPOR    Y3, Y4, Y4 \
	Q6VEC(Y4, (aoff+32), 1) \
	VPAND   Y14, Y2, Y3 \
	VPSRLW  $4, Y0, Y4 \
	VPAND   Y15, Y4, Y4 \
	VPOR    Y3, Y4, Y4 \
	Q6VEC(Y4, (aoff+64), 2) \
	VPSRLW  $2, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPSRLW  $4, Y1, Y4 \
	VPAND   Y15, Y4, Y4 \
	VPOR    Y3, Y4, Y4 \
	Q6VEC(Y4, (aoff+96), 3)

// func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32
TEXT ·dotQ6_KQ8_KAVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB avx2Low<>(SB), Y15
	VPBROADCASTB avx2Bits45<>(SB), Y14
	VXORPS X12, X12, X12
q6avx2loop:
	PREFETCHT0 1260(SI) // six blocks ahead, as dotQ4_0Q8_0AVX2 (the hardware prefetcher alone falls behind)
	PREFETCHT0 1324(SI)
	PREFETCHT0 1388(SI)
	PREFETCHT0 1452(SI)
	VPMOVSXBW 192(SI), Y5
	VPXOR   Y8, Y8, Y8
	Q6HALF2(0, 128, 4, 0x00)
	Q6HALF2(64, 160, 132, 0x11)
	VPMADDWD 260(DI), Y5, Y9
	VPSLLD  $5, Y9, Y9
	VPSUBD  Y9, Y8, Y8
	HSUMI8(Y8, X8, X9)
	SCALEADD(VADDSS, X8, 208, X10, X12)
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6avx2loop
	VZEROUPPER
	MOVSS X12, ret+24(FP)
	RET
