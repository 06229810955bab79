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

// One half: ql at qloff(SI) (64 bytes), qh at qhoff(SI) (32), activations from aoff, scales of the
// half broadcast to both lanes of Y6; VEC takes each vector of 32 values (Q6VEC: one token at DI,
// Q6VEC4: four).
#define Q6HALF(qloff, qhoff, aoff, lane, VEC) \
	VPERM2I128 $lane, Y5, Y5, Y6 \
	VMOVDQU qloff(SI), Y0 \
	VMOVDQU (qloff+32)(SI), Y1 \
	VMOVDQU qhoff(SI), Y2 \
	VPSLLW  $4, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPAND   Y15, Y0, Y4 \
	VPOR    Y3, Y4, Y4 \
	VEC(Y4, aoff, 0) \
	VPSLLW  $2, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPAND   Y15, Y1, Y4 \
	VPOR    Y3, Y4, Y4 \
	VEC(Y4, (aoff+32), 1) \
	VPAND   Y14, Y2, Y3 \
	VPSRLW  $4, Y0, Y4 \
	VPAND   Y15, Y4, Y4 \
	VPOR    Y3, Y4, Y4 \
	VEC(Y4, (aoff+64), 2) \
	VPSRLW  $2, Y2, Y3 \
	VPAND   Y14, Y3, Y3 \
	VPSRLW  $4, Y1, Y4 \
	VPAND   Y15, Y4, Y4 \
	VPOR    Y3, Y4, Y4 \
	VEC(Y4, (aoff+96), 3)

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
	Q6HALF(0, 128, 4, 0x00, Q6VEC)
	Q6HALF(64, 160, 132, 0x11, Q6VEC)
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

// The four-token kernel: a block's values are unpacked and each vector's scales spread once for the four
// tokens (activations at R13, R14, DI and BX, int32 sums in Y8–Y11, products in Y12). At the end of the
// block the four sums are reduced together, token t in lane t of X8, and the one-token kernel's float
// steps (acc += float(isum)·(d·da)) run four lanes at a time in X13: the same operations per lane, so
// each token gets the one-token kernel's bits.

// Q6TOK adds the products of vector v (scales spread in Y7) with the token's activations at aoff(p).
#define Q6TOK(v, aoff, p, acc) \
	VPMADDUBSW aoff(p), v, Y12 \
	VPMADDWD Y7, Y12, Y12 \
	VPADDD  Y12, acc, acc

#define Q6VEC4(v, aoff, k) \
	VMOVDQU q6shuf<>+(32*k)(SB), Y7 \
	VPSHUFB Y7, Y6, Y7 \
	Q6TOK(v, aoff, R13, Y8) \
	Q6TOK(v, aoff, R14, Y9) \
	Q6TOK(v, aoff, DI, Y10) \
	Q6TOK(v, aoff, BX, Y11)

// Q6BSUMS subtracts 32·Σ scale·bsum (the values' offset of 32) from the token's sums.
#define Q6BSUMS(p, acc) \
	VPMADDWD 260(p), Y5, Y12 \
	VPSLLD  $5, Y12, Y12 \
	VPSUBD  Y12, acc, acc

// func dot4Q6_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)
TEXT ·dot4Q6_KQ8_KAVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a0+8(FP), R13
	MOVQ a1+16(FP), R14
	MOVQ a2+24(FP), DI
	MOVQ a3+32(FP), BX
	MOVQ nb+40(FP), CX
	VPBROADCASTB avx2Low<>(SB), Y15
	VPBROADCASTB avx2Bits45<>(SB), Y14
	VXORPS X13, X13, X13
q6avx2x4loop:
	PREFETCHT0 1260(SI) // six blocks ahead, as the one-token kernel
	PREFETCHT0 1324(SI)
	PREFETCHT0 1388(SI)
	PREFETCHT0 1452(SI)
	VPMOVSXBW 192(SI), Y5
	VPXOR   Y8, Y8, Y8
	VPXOR   Y9, Y9, Y9
	VPXOR   Y10, Y10, Y10
	VPXOR   Y11, Y11, Y11
	Q6HALF(0, 128, 4, 0x00, Q6VEC4)
	Q6HALF(64, 160, 132, 0x11, Q6VEC4)
	Q6BSUMS(R13, Y8)
	Q6BSUMS(R14, Y9)
	Q6BSUMS(DI, Y10)
	Q6BSUMS(BX, Y11)
	HSUM4(Y8, Y9, Y10, Y11, X8, X0)
	VMOVSS  0(R13), X1
	VINSERTPS $0x10, 0(R14), X1, X1
	VINSERTPS $0x20, 0(DI), X1, X1
	VINSERTPS $0x30, 0(BX), X1, X1
	MOVWLZX 208(SI), AX
	VMOVD   AX, X2
	VCVTPH2PS X2, X2
	VBROADCASTSS X2, X2
	VMULPS  X1, X2, X2
	VCVTDQ2PS X8, X8
	VMULPS  X2, X8, X8
	VADDPS  X8, X13, X13
	ADDQ $210, SI
	ADDQ $292, R13
	ADDQ $292, R14
	ADDQ $292, DI
	ADDQ $292, BX
	DECQ CX
	JNZ  q6avx2x4loop
	MOVQ out+48(FP), DX
	VMOVUPS X13, (DX)
	VZEROUPPER
	RET
