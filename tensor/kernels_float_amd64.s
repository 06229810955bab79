//go:build amd64 && !noasm

#include "textflag.h"

// AVX-512 float kernels: dot products of F32/F16/BF16 weight rows with float32 activations (one token, or
// four sharing each converted weight vector), a float32 dot and y += a·x. They accumulate with FMA in
// several registers, so they agree with the Go code to rounding, not bit for bit. n is a multiple of 16.

// Weight conversions: 16 values from memory into a Z register.
#define CVTF16(mem, z) VCVTPH2PS mem, z
#define CVTBF16(mem, z) VPMOVZXWD mem, z; VPSLLD $16, z, z
#define CVTF32(mem, z) VMOVUPS mem, z

#define HSUMF(zn, yn, xn, yt, xt) \
	VEXTRACTF64X4 $1, zn, yt \
	VADDPS  yt, yn, yn \
	VEXTRACTF128 $1, yn, xt \
	VADDPS  xt, xn, xn \
	VMOVHLPS xn, xn, xt \
	VADDPS  xt, xn, xn \
	VMOVSHDUP xn, xt \
	VADDSS  xt, xn, xn

// One token: two accumulators, 32 values per iteration, then a 16-value step.
#define DOT1(name, CVT, wstep) \
TEXT name(SB), NOSPLIT, $0-28 \
	MOVQ w+0(FP), SI \
	MOVQ x+8(FP), DI \
	MOVQ n+16(FP), CX \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	SHRQ $4, CX \
loop2: \
	CMPQ CX, $2 \
	JL   one \
	CVT(0(SI), Z1) \
	CVT(wstep(SI), Z2) \
	VFMADD231PS 0(DI), Z1, Z8 \
	VFMADD231PS 64(DI), Z2, Z9 \
	ADDQ $(2*wstep), SI \
	ADDQ $128, DI \
	SUBQ $2, CX \
	JMP  loop2 \
one: \
	TESTQ CX, CX \
	JZ   done \
	CVT(0(SI), Z1) \
	VFMADD231PS 0(DI), Z1, Z8 \
done: \
	VADDPS Z9, Z8, Z8 \
	HSUMF(Z8, Y8, X8, Y10, X10) \
	VZEROUPPER \
	MOVSS X8, ret+24(FP) \
	RET

// Four tokens: each converted weight vector meets four activation rows, two 16-value steps per iteration
// (eight accumulators hide the FMA latency).
#define DOT4(name, CVT, wstep) \
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
loop2: \
	CMPQ CX, $2 \
	JL   one \
	CVT(0(SI), Z1) \
	CVT(wstep(SI), Z2) \
	VFMADD231PS 0(R8)(AX*1), Z1, Z8 \
	VFMADD231PS 0(R9)(AX*1), Z1, Z9 \
	VFMADD231PS 0(R10)(AX*1), Z1, Z10 \
	VFMADD231PS 0(R11)(AX*1), Z1, Z11 \
	VFMADD231PS 64(R8)(AX*1), Z2, Z12 \
	VFMADD231PS 64(R9)(AX*1), Z2, Z13 \
	VFMADD231PS 64(R10)(AX*1), Z2, Z14 \
	VFMADD231PS 64(R11)(AX*1), Z2, Z15 \
	ADDQ $(2*wstep), SI \
	ADDQ $128, AX \
	SUBQ $2, CX \
	JMP  loop2 \
one: \
	TESTQ CX, CX \
	JZ   done \
	CVT(0(SI), Z1) \
	VFMADD231PS 0(R8)(AX*1), Z1, Z8 \
	VFMADD231PS 0(R9)(AX*1), Z1, Z9 \
	VFMADD231PS 0(R10)(AX*1), Z1, Z10 \
	VFMADD231PS 0(R11)(AX*1), Z1, Z11 \
done: \
	VADDPS Z12, Z8, Z8 \
	VADDPS Z13, Z9, Z9 \
	VADDPS Z14, Z10, Z10 \
	VADDPS Z15, Z11, Z11 \
	HSUMF(Z8, Y8, X8, Y1, X1) \
	HSUMF(Z9, Y9, X9, Y1, X1) \
	HSUMF(Z10, Y10, X10, Y1, X1) \
	HSUMF(Z11, Y11, X11, Y1, X1) \
	MOVQ out+48(FP), DX \
	VMOVSS X8, 0(DX) \
	VMOVSS X9, 4(DX) \
	VMOVSS X10, 8(DX) \
	VMOVSS X11, 12(DX) \
	VZEROUPPER \
	RET

// func dot1F16AVX512(w *byte, x *float32, n int) float32
DOT1(·dot1F16AVX512, CVTF16, 32)

// func dot1BF16AVX512(w *byte, x *float32, n int) float32
DOT1(·dot1BF16AVX512, CVTBF16, 32)

// func dot1F32AVX512(w *byte, x *float32, n int) float32
DOT1(·dot1F32AVX512, CVTF32, 64)

// func dot4F16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4(·dot4F16AVX512, CVTF16, 32)

// func dot4BF16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4(·dot4BF16AVX512, CVTBF16, 32)

// func dot4F32AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)
DOT4(·dot4F32AVX512, CVTF32, 64)

// func axpyAVX512(y *float32, a float32, x *float32, n int)
TEXT ·axpyAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	VBROADCASTSS a+8(FP), Z0
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $4, CX
	JZ   axpydone
axpyloop:
	VMOVUPS 0(DI), Z1
	VFMADD231PS 0(SI), Z0, Z1
	VMOVUPS Z1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  axpyloop
axpydone:
	VZEROUPPER
	RET
