//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX2 + FMA + F16C versions of the float kernels of float_avx512_amd64.s, for CPUs without AVX-512:
// eight lanes, sixteen values per iteration, n a multiple of 16.

#define CVT8F16(mem, y) VCVTPH2PS mem, y
#define CVT8BF16(mem, y) VPMOVZXWD mem, y; VPSLLD $16, y, y
#define CVT8F32(mem, y) VMOVUPS mem, y


#define DOT1Y(name, CVT, wstep) \
TEXT name(SB), NOSPLIT, $0-28 \
	MOVQ w+0(FP), SI \
	MOVQ x+8(FP), DI \
	MOVQ n+16(FP), CX \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	SHRQ $4, CX \
	JZ   done \
loop: \
	CVT(0(SI), Y1) \
	CVT(wstep(SI), Y2) \
	VFMADD231PS 0(DI), Y1, Y8 \
	VFMADD231PS 32(DI), Y2, Y9 \
	ADDQ $(2*wstep), SI \
	ADDQ $64, DI \
	DECQ CX \
	JNZ  loop \
done: \
	VADDPS Y9, Y8, Y8 \
	HSUMX(Y8, X8, X10) \
	VZEROUPPER \
	MOVSS X8, ret+24(FP) \
	RET

#define DOT4Y(name, CVT, wstep) \
TEXT name(SB), NOSPLIT, $0-64 \
	MOVQ w+0(FP), SI \
	MOVQ x0+8(FP), R8 \
	MOVQ x1+16(FP), R9 \
	MOVQ x2+24(FP), R10 \
	MOVQ x3+32(FP), R11 \
	MOVQ n+40(FP), CX \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11 \
	VXORPS Y12, Y12, Y12 \
	VXORPS Y13, Y13, Y13 \
	VXORPS Y14, Y14, Y14 \
	VXORPS Y15, Y15, Y15 \
	XORQ AX, AX \
	SHRQ $4, CX \
	JZ   done \
loop: \
	CVT(0(SI), Y1) \
	CVT(wstep(SI), Y2) \
	VFMADD231PS 0(R8)(AX*1), Y1, Y8 \
	VFMADD231PS 0(R9)(AX*1), Y1, Y9 \
	VFMADD231PS 0(R10)(AX*1), Y1, Y10 \
	VFMADD231PS 0(R11)(AX*1), Y1, Y11 \
	VFMADD231PS 32(R8)(AX*1), Y2, Y12 \
	VFMADD231PS 32(R9)(AX*1), Y2, Y13 \
	VFMADD231PS 32(R10)(AX*1), Y2, Y14 \
	VFMADD231PS 32(R11)(AX*1), Y2, Y15 \
	ADDQ $(2*wstep), SI \
	ADDQ $64, AX \
	DECQ CX \
	JNZ  loop \
done: \
	VADDPS Y12, Y8, Y8 \
	VADDPS Y13, Y9, Y9 \
	VADDPS Y14, Y10, Y10 \
	VADDPS Y15, Y11, Y11 \
	HSUMX(Y8, X8, X1) \
	HSUMX(Y9, X9, X1) \
	HSUMX(Y10, X10, X1) \
	HSUMX(Y11, X11, X1) \
	MOVQ out+48(FP), DX \
	VMOVSS X8, 0(DX) \
	VMOVSS X9, 4(DX) \
	VMOVSS X10, 8(DX) \
	VMOVSS X11, 12(DX) \
	VZEROUPPER \
	RET

// Three rows (wstride bytes apart) times four tokens, the register tile that fits sixteen YMM registers:
// per eight values three converted weight vectors and one activation vector at a time feed twelve FMAs
// into twelve accumulators, so the activations, which a prompt's four tokens keep in L2, are read once
// for three rows instead of once a row. out[4·r + t] = row r · token t, for r < 3.
#define HSUMY(yacc, xacc, off) \
	HSUMX(yacc, xacc, X0) \
	VMOVSS xacc, off(DX)

#define DOT34Y(name, CVT, wstep) \
TEXT name(SB), NOSPLIT, $0-72 \
	MOVQ w+0(FP), SI \
	MOVQ wstride+8(FP), R13 \
	MOVQ x0+16(FP), R8 \
	MOVQ x1+24(FP), R9 \
	MOVQ x2+32(FP), R10 \
	MOVQ x3+40(FP), R11 \
	MOVQ n+48(FP), CX \
	VXORPS Y4, Y4, Y4 \
	VXORPS Y5, Y5, Y5 \
	VXORPS Y6, Y6, Y6 \
	VXORPS Y7, Y7, Y7 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11 \
	VXORPS Y12, Y12, Y12 \
	VXORPS Y13, Y13, Y13 \
	VXORPS Y14, Y14, Y14 \
	VXORPS Y15, Y15, Y15 \
	XORQ AX, AX \
	SHRQ $3, CX \
	JZ   done \
loop: \
	CVT(0(SI), Y0) \
	CVT(0(SI)(R13*1), Y1) \
	CVT(0(SI)(R13*2), Y2) \
	VMOVUPS 0(R8)(AX*1), Y3 \
	VFMADD231PS Y3, Y0, Y4 \
	VFMADD231PS Y3, Y1, Y8 \
	VFMADD231PS Y3, Y2, Y12 \
	VMOVUPS 0(R9)(AX*1), Y3 \
	VFMADD231PS Y3, Y0, Y5 \
	VFMADD231PS Y3, Y1, Y9 \
	VFMADD231PS Y3, Y2, Y13 \
	VMOVUPS 0(R10)(AX*1), Y3 \
	VFMADD231PS Y3, Y0, Y6 \
	VFMADD231PS Y3, Y1, Y10 \
	VFMADD231PS Y3, Y2, Y14 \
	VMOVUPS 0(R11)(AX*1), Y3 \
	VFMADD231PS Y3, Y0, Y7 \
	VFMADD231PS Y3, Y1, Y11 \
	VFMADD231PS Y3, Y2, Y15 \
	ADDQ $wstep, SI \
	ADDQ $32, AX \
	DECQ CX \
	JNZ  loop \
done: \
	MOVQ out+56(FP), DX \
	HSUMY(Y4, X4, 0) \
	HSUMY(Y5, X5, 4) \
	HSUMY(Y6, X6, 8) \
	HSUMY(Y7, X7, 12) \
	HSUMY(Y8, X8, 16) \
	HSUMY(Y9, X9, 20) \
	HSUMY(Y10, X10, 24) \
	HSUMY(Y11, X11, 28) \
	HSUMY(Y12, X12, 32) \
	HSUMY(Y13, X13, 36) \
	HSUMY(Y14, X14, 40) \
	HSUMY(Y15, X15, 44) \
	VZEROUPPER \
	RET

// func dot34F16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT34Y(·dot34F16AVX2, CVT8F16, 16)

// func dot34BF16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT34Y(·dot34BF16AVX2, CVT8BF16, 16)

// func dot34F32AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT34Y(·dot34F32AVX2, CVT8F32, 32)

// func dot1F16AVX2(w *byte, x *float32, n int) float32
DOT1Y(·dot1F16AVX2, CVT8F16, 16)

// func dot1BF16AVX2(w *byte, x *float32, n int) float32
DOT1Y(·dot1BF16AVX2, CVT8BF16, 16)

// func dot1F32AVX2(w *byte, x *float32, n int) float32
DOT1Y(·dot1F32AVX2, CVT8F32, 32)

// func dot4F16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4Y(·dot4F16AVX2, CVT8F16, 16)

// func dot4BF16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4Y(·dot4BF16AVX2, CVT8BF16, 16)

// func dot4F32AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4Y(·dot4F32AVX2, CVT8F32, 32)

// func axpyAVX2(y *float32, a float32, x *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	VBROADCASTSS a+8(FP), Y0
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   axpydone
axpyloop:
	VMOVUPS 0(DI), Y1
	VFMADD231PS 0(SI), Y0, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  axpyloop
axpydone:
	VZEROUPPER
	RET
