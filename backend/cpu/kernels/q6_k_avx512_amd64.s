//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX-512 (F, BW, VL) Q6_K·Q8_K kernels, one and four tokens.
// Register use: constants live in Z24–Z31, accumulators in Z8–Z15 so that the final reductions can use
// VEX-encoded 128/256-bit instructions.

DATA lowNibble<>+0(SB)/1, $0x0f
GLOBL lowNibble<>(SB), RODATA|NOPTR, $1
DATA bits45<>+0(SB)/1, $0x30
GLOBL bits45<>(SB), RODATA|NOPTR, $1

// Q6_K: shift the two-bit high parts of qh into bits 4–5: qwords 0–3 (values l) by 4 left, 4–7 (values
// l+32) by 2 left; for the upper nibbles, 0 and 2 right.
DATA q6shl<>+0(SB)/8, $4
DATA q6shl<>+8(SB)/8, $4
DATA q6shl<>+16(SB)/8, $4
DATA q6shl<>+24(SB)/8, $4
DATA q6shl<>+32(SB)/8, $2
DATA q6shl<>+40(SB)/8, $2
DATA q6shl<>+48(SB)/8, $2
DATA q6shl<>+56(SB)/8, $2
GLOBL q6shl<>(SB), RODATA|NOPTR, $64
DATA q6shr<>+0(SB)/8, $0
DATA q6shr<>+8(SB)/8, $0
DATA q6shr<>+16(SB)/8, $0
DATA q6shr<>+24(SB)/8, $0
DATA q6shr<>+32(SB)/8, $2
DATA q6shr<>+40(SB)/8, $2
DATA q6shr<>+48(SB)/8, $2
DATA q6shr<>+56(SB)/8, $2
GLOBL q6shr<>(SB), RODATA|NOPTR, $64

// Q6_K scale spreading: table k puts scale 4k + w/8 in word w (eight words = sixteen values per scale).
DATA q6scidx<>+0(SB)/8, $0x0000000000000000
DATA q6scidx<>+8(SB)/8, $0x0000000000000000
DATA q6scidx<>+16(SB)/8, $0x0001000100010001
DATA q6scidx<>+24(SB)/8, $0x0001000100010001
DATA q6scidx<>+32(SB)/8, $0x0002000200020002
DATA q6scidx<>+40(SB)/8, $0x0002000200020002
DATA q6scidx<>+48(SB)/8, $0x0003000300030003
DATA q6scidx<>+56(SB)/8, $0x0003000300030003
DATA q6scidx<>+64(SB)/8, $0x0004000400040004
DATA q6scidx<>+72(SB)/8, $0x0004000400040004
DATA q6scidx<>+80(SB)/8, $0x0005000500050005
DATA q6scidx<>+88(SB)/8, $0x0005000500050005
DATA q6scidx<>+96(SB)/8, $0x0006000600060006
DATA q6scidx<>+104(SB)/8, $0x0006000600060006
DATA q6scidx<>+112(SB)/8, $0x0007000700070007
DATA q6scidx<>+120(SB)/8, $0x0007000700070007
DATA q6scidx<>+128(SB)/8, $0x0008000800080008
DATA q6scidx<>+136(SB)/8, $0x0008000800080008
DATA q6scidx<>+144(SB)/8, $0x0009000900090009
DATA q6scidx<>+152(SB)/8, $0x0009000900090009
DATA q6scidx<>+160(SB)/8, $0x000a000a000a000a
DATA q6scidx<>+168(SB)/8, $0x000a000a000a000a
DATA q6scidx<>+176(SB)/8, $0x000b000b000b000b
DATA q6scidx<>+184(SB)/8, $0x000b000b000b000b
DATA q6scidx<>+192(SB)/8, $0x000c000c000c000c
DATA q6scidx<>+200(SB)/8, $0x000c000c000c000c
DATA q6scidx<>+208(SB)/8, $0x000d000d000d000d
DATA q6scidx<>+216(SB)/8, $0x000d000d000d000d
DATA q6scidx<>+224(SB)/8, $0x000e000e000e000e
DATA q6scidx<>+232(SB)/8, $0x000e000e000e000e
DATA q6scidx<>+240(SB)/8, $0x000f000f000f000f
DATA q6scidx<>+248(SB)/8, $0x000f000f000f000f
GLOBL q6scidx<>(SB), RODATA|NOPTR, $256

// ---------------------------------------------------------------------------------------------------------
// Q6_K · Q8_K. Per super-block: unsigned 6-bit values (0–63) times int8 activations in 16-bit pairs
// (VPMADDUBSW cannot saturate: 2·63·128 < 2^15), weighted by the int16 sub-block scales (VPMADDWD), minus
// 32·Σ scale·bsum; the exact int32 sum is then reduced to one integer and scaled in float32 exactly as
// the Go code does, so the result is bit-identical.

#define Q6HALF(qloff, qhoff, aoff, tabA, tabB) \
	VMOVDQU64 qloff(SI), Z1 \
	VBROADCASTI64X4 qhoff(SI), Z2 \
	VPANDQ  Z31, Z1, Z3 \
	VPSRLW  $4, Z1, Z4 \
	VPANDQ  Z31, Z4, Z4 \
	VPSLLVQ Z29, Z2, Z5 \
	VPANDQ  Z30, Z5, Z5 \
	VPSRLVQ Z28, Z2, Z6 \
	VPANDQ  Z30, Z6, Z6 \
	VPORQ   Z5, Z3, Z3 \
	VPORQ   Z6, Z4, Z4 \
	VPMADDUBSW aoff(DI), Z3, Z3 \
	VPMADDUBSW (aoff+64)(DI), Z4, Z4 \
	VPERMW  Z20, tabA, Z7 \
	VPMADDWD Z7, Z3, Z3 \
	VPERMW  Z20, tabB, Z7 \
	VPMADDWD Z7, Z4, Z4 \
	VPADDD  Z3, Z8, Z8 \
	VPADDD  Z4, Z8, Z8



// func dotQ6_KQ8_KAVX512(w, a *byte, nb int) float32 — see "Q6_K · Q8_K" above.
TEXT ·dotQ6_KQ8_KAVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTB lowNibble<>(SB), Z31
	VPBROADCASTB bits45<>(SB), Z30
	VMOVDQU64 q6shl<>(SB), Z29
	VMOVDQU64 q6shr<>(SB), Z28
	VMOVDQU64 q6scidx<>+0(SB), Z24
	VMOVDQU64 q6scidx<>+64(SB), Z25
	VMOVDQU64 q6scidx<>+128(SB), Z26
	VMOVDQU64 q6scidx<>+192(SB), Z27
	VXORPS X0, X0, X0
q6loop:
	PREFETCHT0 8192(SI)
	PREFETCHT0 8256(SI)
	PREFETCHT0 8320(SI)
	PREFETCHT0 8384(SI)
	VPMOVSXBW 192(SI), Y20
	VPXORD  Z8, Z8, Z8
	Q6HALF(0, 128, 4, Z24, Z25)
	Q6HALF(64, 160, 132, Z26, Z27)
	VPMADDWD 260(DI), Y20, Y9
	VPSLLD  $5, Y9, Y9
	VPSUBD  Z9, Z8, Z8
	VEXTRACTI64X4 $1, Z8, Y9
	VPADDD  Y9, Y8, Y8
	HSUMI8(Y8, X8, X9)
	SCALEADD(VADDSS, X8, 208, X10, X0)
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6loop
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func gemv1Q4_0VNNI(w, act *byte, pairs int) float32

// ---------------------------------------------------------------------------------------------------------
// Q6_K · Q8_K for four tokens: the super-block's 6-bit values and spread scales are built once, then each
// token's activations (rows a0…a3) go through the same integer and float steps as dotQ6_KQ8_KAVX512, so
// each result is bit-identical to the one-token kernel and to the Go code.

// outL, outH: the values of one 128-value half (temps Z1, Z2, Z5, Z6).
#define Q6VALS(qloff, qhoff, outL, outH) \
	VMOVDQU64 qloff(SI), Z1 \
	VBROADCASTI64X4 qhoff(SI), Z2 \
	VPANDQ  Z31, Z1, outL \
	VPSRLW  $4, Z1, outH \
	VPANDQ  Z31, outH, outH \
	VPSLLVQ Z29, Z2, Z5 \
	VPANDQ  Z30, Z5, Z5 \
	VPSRLVQ Z28, Z2, Z6 \
	VPANDQ  Z30, Z6, Z6 \
	VPORQ   Z5, outL, outL \
	VPORQ   Z6, outH, outH

#define Q6TOKEN(r, xsum) \
	VPMADDUBSW 4(r), Z3, Z6 \
	VPMADDWD Z18, Z6, Z8 \
	VPMADDUBSW 68(r), Z4, Z6 \
	VPMADDWD Z19, Z6, Z6 \
	VPADDD  Z6, Z8, Z8 \
	VPMADDUBSW 132(r), Z16, Z6 \
	VPMADDWD Z21, Z6, Z6 \
	VPADDD  Z6, Z8, Z8 \
	VPMADDUBSW 196(r), Z17, Z6 \
	VPMADDWD Z22, Z6, Z6 \
	VPADDD  Z6, Z8, Z8 \
	VPMADDWD 260(r), Y20, Y9 \
	VPSLLD  $5, Y9, Y9 \
	VPSUBD  Z9, Z8, Z8 \
	VEXTRACTI64X4 $1, Z8, Y9 \
	VPADDD  Y9, Y8, Y8 \
	HSUMI8(Y8, X8, X9) \
	VCVTDQ2PS X8, X8 \
	VMULSS  0(r), X11, X10 \
	VMULSS  X10, X8, X8 \
	VADDSS  X8, xsum, xsum \
	ADDQ $292, r

// func dot4Q6_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32)
TEXT ·dot4Q6_KQ8_KAVX512(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), SI
	MOVQ a0+8(FP), R8
	MOVQ a1+16(FP), R9
	MOVQ a2+24(FP), R10
	MOVQ a3+32(FP), R11
	MOVQ nb+40(FP), CX
	VPBROADCASTB lowNibble<>(SB), Z31
	VPBROADCASTB bits45<>(SB), Z30
	VMOVDQU64 q6shl<>(SB), Z29
	VMOVDQU64 q6shr<>(SB), Z28
	VMOVDQU64 q6scidx<>+0(SB), Z24
	VMOVDQU64 q6scidx<>+64(SB), Z25
	VMOVDQU64 q6scidx<>+128(SB), Z26
	VMOVDQU64 q6scidx<>+192(SB), Z27
	VXORPS X12, X12, X12
	VXORPS X13, X13, X13
	VXORPS X14, X14, X14
	VXORPS X15, X15, X15
q64loop:
	VPMOVSXBW 192(SI), Y20
	Q6VALS(0, 128, Z3, Z4)
	Q6VALS(64, 160, Z16, Z17)
	VPERMW  Z20, Z24, Z18
	VPERMW  Z20, Z25, Z19
	VPERMW  Z20, Z26, Z21
	VPERMW  Z20, Z27, Z22
	MOVWLZX 208(SI), AX
	VMOVD   AX, X11
	VCVTPH2PS X11, X11
	Q6TOKEN(R8, X12)
	Q6TOKEN(R9, X13)
	Q6TOKEN(R10, X14)
	Q6TOKEN(R11, X15)
	ADDQ $210, SI
	DECQ CX
	JNZ  q64loop
	MOVQ out+48(FP), DX
	VMOVSS X12, 0(DX)
	VMOVSS X13, 4(DX)
	VMOVSS X14, 8(DX)
	VMOVSS X15, 12(DX)
	VZEROUPPER
	RET
