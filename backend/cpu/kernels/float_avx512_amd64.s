//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX-512 float kernels: dot products of F32/F16/BF16 weight rows with float32 activations (one token, or
// four sharing each converted weight vector), a float32 dot and y += a·x. They accumulate with FMA in
// several registers, so they agree with the Go code to rounding, not bit for bit. n is a multiple of 16.

// Weight conversions: 16 values from memory into a Z register.
#define CVTF16(mem, z) VCVTPH2PS mem, z
#define CVTBF16(mem, z) VPMOVZXWD mem, z; VPSLLD $16, z, z
#define CVTF32(mem, z) VMOVUPS mem, z


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
	PREFETCHT0 8192(SI) \
	PREFETCHT0 (8192+wstep)(SI) \
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
	HSUM(Z8, Y8, X8, Y10, X10) \
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
	HSUM(Z8, Y8, X8, Y1, X1) \
	HSUM(Z9, Y9, X9, Y1, X1) \
	HSUM(Z10, Y10, X10, Y1, X1) \
	HSUM(Z11, Y11, X11, Y1, X1) \
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

// Four rows (wstride bytes apart) times four tokens: per 16 values four converted weight vectors and four
// activation vectors feed sixteen FMAs into sixteen accumulators, so each load serves four FMAs and the
// activations are read once for four rows. out[4·r + t] = row r · token t.
#define HSUMTO(zacc, off) \
	VMOVAPS zacc, Z8 \
	HSUM(Z8, Y8, X8, Y9, X9) \
	VMOVSS X8, off(DX)

#define DOT44(name, CVT, wstep) \
TEXT name(SB), NOSPLIT, $0-72 \
	MOVQ w+0(FP), SI \
	MOVQ wstride+8(FP), R13 \
	LEAQ (R13)(R13*2), R14 \
	MOVQ x0+16(FP), R8 \
	MOVQ x1+24(FP), R9 \
	MOVQ x2+32(FP), R10 \
	MOVQ x3+40(FP), R11 \
	MOVQ n+48(FP), CX \
	VPXORD Z16, Z16, Z16 \
	VPXORD Z17, Z17, Z17 \
	VPXORD Z18, Z18, Z18 \
	VPXORD Z19, Z19, Z19 \
	VPXORD Z20, Z20, Z20 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	VPXORD Z23, Z23, Z23 \
	VPXORD Z24, Z24, Z24 \
	VPXORD Z25, Z25, Z25 \
	VPXORD Z26, Z26, Z26 \
	VPXORD Z27, Z27, Z27 \
	VPXORD Z28, Z28, Z28 \
	VPXORD Z29, Z29, Z29 \
	VPXORD Z30, Z30, Z30 \
	VPXORD Z31, Z31, Z31 \
	XORQ AX, AX \
	SHRQ $4, CX \
loop: \
	CVT(0(SI), Z0) \
	CVT(0(SI)(R13*1), Z1) \
	CVT(0(SI)(R13*2), Z2) \
	CVT(0(SI)(R14*1), Z3) \
	VMOVUPS 0(R8)(AX*1), Z4 \
	VMOVUPS 0(R9)(AX*1), Z5 \
	VMOVUPS 0(R10)(AX*1), Z6 \
	VMOVUPS 0(R11)(AX*1), Z7 \
	VFMADD231PS Z4, Z0, Z16 \
	VFMADD231PS Z5, Z0, Z17 \
	VFMADD231PS Z6, Z0, Z18 \
	VFMADD231PS Z7, Z0, Z19 \
	VFMADD231PS Z4, Z1, Z20 \
	VFMADD231PS Z5, Z1, Z21 \
	VFMADD231PS Z6, Z1, Z22 \
	VFMADD231PS Z7, Z1, Z23 \
	VFMADD231PS Z4, Z2, Z24 \
	VFMADD231PS Z5, Z2, Z25 \
	VFMADD231PS Z6, Z2, Z26 \
	VFMADD231PS Z7, Z2, Z27 \
	VFMADD231PS Z4, Z3, Z28 \
	VFMADD231PS Z5, Z3, Z29 \
	VFMADD231PS Z6, Z3, Z30 \
	VFMADD231PS Z7, Z3, Z31 \
	ADDQ $wstep, SI \
	ADDQ $64, AX \
	DECQ CX \
	JNZ  loop \
	MOVQ out+56(FP), DX \
	HSUMTO(Z16, 0) \
	HSUMTO(Z17, 4) \
	HSUMTO(Z18, 8) \
	HSUMTO(Z19, 12) \
	HSUMTO(Z20, 16) \
	HSUMTO(Z21, 20) \
	HSUMTO(Z22, 24) \
	HSUMTO(Z23, 28) \
	HSUMTO(Z24, 32) \
	HSUMTO(Z25, 36) \
	HSUMTO(Z26, 40) \
	HSUMTO(Z27, 44) \
	HSUMTO(Z28, 48) \
	HSUMTO(Z29, 52) \
	HSUMTO(Z30, 56) \
	HSUMTO(Z31, 60) \
	VZEROUPPER \
	RET

// func dot44F16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT44(·dot44F16AVX512, CVTF16, 32)

// func dot44BF16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT44(·dot44BF16AVX512, CVTBF16, 32)

// func dot44F32AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)
DOT44(·dot44F32AVX512, CVTF32, 64)
