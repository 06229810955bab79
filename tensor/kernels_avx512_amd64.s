//go:build amd64 && !noasm

#include "textflag.h"
#include "kernels_amd64.h"

// AVX-512 kernels (F, BW, VL, VNNI). Register use: constants live in Z24–Z31, accumulators in Z8–Z15 so
// that the final reductions can use VEX-encoded 128/256-bit instructions.

DATA lowNibble<>+0(SB)/1, $0x0f
GLOBL lowNibble<>(SB), RODATA|NOPTR, $1
DATA bits45<>+0(SB)/1, $0x30
GLOBL bits45<>(SB), RODATA|NOPTR, $1
DATA signBit<>+0(SB)/1, $0x80
GLOBL signBit<>(SB), RODATA|NOPTR, $1

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

// Pair kernels (Q4_0, Q8_0): qword order that duplicates each block's 16 nibble bytes, and the per-qword
// shifts that then select low nibbles (values 0–15) and high nibbles (16–31).
DATA q4perm<>+0(SB)/8, $0
DATA q4perm<>+8(SB)/8, $1
DATA q4perm<>+16(SB)/8, $0
DATA q4perm<>+24(SB)/8, $1
DATA q4perm<>+32(SB)/8, $2
DATA q4perm<>+40(SB)/8, $3
DATA q4perm<>+48(SB)/8, $2
DATA q4perm<>+56(SB)/8, $3
GLOBL q4perm<>(SB), RODATA|NOPTR, $64
DATA q4shift<>+0(SB)/8, $0
DATA q4shift<>+8(SB)/8, $0
DATA q4shift<>+16(SB)/8, $4
DATA q4shift<>+24(SB)/8, $4
DATA q4shift<>+32(SB)/8, $0
DATA q4shift<>+40(SB)/8, $0
DATA q4shift<>+48(SB)/8, $4
DATA q4shift<>+56(SB)/8, $4
GLOBL q4shift<>(SB), RODATA|NOPTR, $64
// Spread two floats over the lanes of their blocks: [d0 ×8, d1 ×8].
DATA spread2<>+0(SB)/8, $0
DATA spread2<>+8(SB)/8, $0
DATA spread2<>+16(SB)/8, $0
DATA spread2<>+24(SB)/8, $0
DATA spread2<>+32(SB)/8, $0x0000000100000001
DATA spread2<>+40(SB)/8, $0x0000000100000001
DATA spread2<>+48(SB)/8, $0x0000000100000001
DATA spread2<>+56(SB)/8, $0x0000000100000001
GLOBL spread2<>(SB), RODATA|NOPTR, $64

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


// ---------------------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 weights against packed Q8_0 activations (see acts.go): per block pair, 64 activation bytes,
// 16 int32 corrections and 16 spread float32 scales (192 bytes). The weights enter VPDPBUSD as unsigned
// bytes (Q4_0: the nibbles 0–15; Q8_0: w+128), and the corrections (−8·Σa or −128·Σa per four values)
// make each int32 lane the exact Σ w·a of its four values. Lanes are converted to float, scaled by dw·da
// and accumulated with FMA.

#define Q4WEIGHTS \
	VMOVDQU 2(SI), X1 \
	VINSERTI128 $1, 20(SI), Y1, Y1 \
	VPERMQ  Z1, Z29, Z1 \
	VPSRLVQ Z28, Z1, Z1 \
	VPANDQ  Z31, Z1, Z1

#define Q8WEIGHTS \
	VMOVDQU 2(SI), Y1 \
	VINSERTI64X4 $1, 36(SI), Z1, Z1 \
	VPXORQ  Z30, Z1, Z1

// Z3 = [dw0 ×8, dw1 ×8] from the f16 scales at 0(SI) and second(SI).
#define PAIRSCALES(second) \
	MOVWLZX 0(SI), AX \
	MOVWLZX second(SI), BX \
	SHLL    $16, BX \
	ORL     BX, AX \
	VMOVD   AX, X3 \
	VCVTPH2PS X3, X3 \
	VPERMPS Z3, Z27, Z3

// One token's pair (its three parts' addresses): acc += float(Σ w·a) · (dw·da).
#define PAIRTOKEN(qs, corr, scale, acc) \
	VMOVDQU32 corr, Z4 \
	VPDPBUSD qs, Z1, Z4 \
	VCVTDQ2PS Z4, Z4 \
	VMULPS  scale, Z3, Z5 \
	VFMADD231PS Z5, Z4, acc

#define PAIRCONSTS \
	VPBROADCASTB lowNibble<>(SB), Z31 \
	VPBROADCASTB signBit<>(SB), Z30 \
	VMOVDQU64 q4perm<>(SB), Z29 \
	VMOVDQU64 q4shift<>(SB), Z28 \
	VMOVDQU64 spread2<>(SB), Z27


// Four tokens share each unpacked weight pair; their activations are stride bytes apart.
#define FOURTOKENS \
	PAIRTOKEN(0(DI), 64(DI), 128(DI), Z8) \
	PAIRTOKEN(0(DI)(R11*1), 64(DI)(R11*1), 128(DI)(R11*1), Z9) \
	PAIRTOKEN(0(DI)(R11*2), 64(DI)(R11*2), 128(DI)(R11*2), Z10) \
	PAIRTOKEN(0(DI)(R12*1), 64(DI)(R12*1), 128(DI)(R12*1), Z11)

#define STORE4 \
	HSUM(Z8, Y8, X8, Y12, X12) \
	HSUM(Z9, Y9, X9, Y12, X12) \
	HSUM(Z10, Y10, X10, Y12, X12) \
	HSUM(Z11, Y11, X11, Y12, X12) \
	MOVQ out+32(FP), DX \
	VMOVSS X8, 0(DX) \
	VMOVSS X9, 4(DX) \
	VMOVSS X10, 8(DX) \
	VMOVSS X11, 12(DX) \
	VZEROUPPER

#define GEMV4PROLOGUE \
	MOVQ w+0(FP), SI \
	MOVQ act+8(FP), DI \
	MOVQ pairs+16(FP), CX \
	MOVQ stride+24(FP), R11 \
	LEAQ (R11)(R11*2), R12 \
	PAIRCONSTS \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11

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
TEXT ·gemv1Q4_0VNNI(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ act+8(FP), DI
	MOVQ pairs+16(FP), CX
	PAIRCONSTS
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
g1q4two:
	CMPQ CX, $2
	JL   g1q4one
	Q4WEIGHTS
	PAIRSCALES(18)
	PAIRTOKEN(0(DI), 64(DI), 128(DI), Z8)
	ADDQ $36, SI
	Q4WEIGHTS
	PAIRSCALES(18)
	PAIRTOKEN(192(DI), 256(DI), 320(DI), Z9)
	ADDQ $36, SI
	ADDQ $384, DI
	SUBQ $2, CX
	JMP  g1q4two
g1q4one:
	TESTQ CX, CX
	JZ   g1q4done
	Q4WEIGHTS
	PAIRSCALES(18)
	PAIRTOKEN(0(DI), 64(DI), 128(DI), Z8)
g1q4done:
	VADDPS Z9, Z8, Z8
	HSUM(Z8, Y8, X8, Y10, X10)
	VZEROUPPER
	MOVSS X8, ret+24(FP)
	RET

// func gemv1Q8_0VNNI(w, act *byte, pairs int) float32
TEXT ·gemv1Q8_0VNNI(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ act+8(FP), DI
	MOVQ pairs+16(FP), CX
	PAIRCONSTS
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
g1q8two:
	CMPQ CX, $2
	JL   g1q8one
	Q8WEIGHTS
	PAIRSCALES(34)
	PAIRTOKEN(0(DI), 64(DI), 128(DI), Z8)
	ADDQ $68, SI
	Q8WEIGHTS
	PAIRSCALES(34)
	PAIRTOKEN(192(DI), 256(DI), 320(DI), Z9)
	ADDQ $68, SI
	ADDQ $384, DI
	SUBQ $2, CX
	JMP  g1q8two
g1q8one:
	TESTQ CX, CX
	JZ   g1q8done
	Q8WEIGHTS
	PAIRSCALES(34)
	PAIRTOKEN(0(DI), 64(DI), 128(DI), Z8)
g1q8done:
	VADDPS Z9, Z8, Z8
	HSUM(Z8, Y8, X8, Y10, X10)
	VZEROUPPER
	MOVSS X8, ret+24(FP)
	RET

// func gemv4Q4_0VNNI(w, act *byte, pairs, stride int, out *float32)
TEXT ·gemv4Q4_0VNNI(SB), NOSPLIT, $0-40
	GEMV4PROLOGUE
g4q4loop:
	Q4WEIGHTS
	PAIRSCALES(18)
	FOURTOKENS
	ADDQ $36, SI
	ADDQ $192, DI
	DECQ CX
	JNZ  g4q4loop
	STORE4
	RET

// func gemv4Q8_0VNNI(w, act *byte, pairs, stride int, out *float32)
TEXT ·gemv4Q8_0VNNI(SB), NOSPLIT, $0-40
	GEMV4PROLOGUE
g4q8loop:
	Q8WEIGHTS
	PAIRSCALES(34)
	FOURTOKENS
	ADDQ $68, SI
	ADDQ $192, DI
	DECQ CX
	JNZ  g4q8loop
	STORE4
	RET

// ---------------------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 rows repacked at load (repack.go) against activations in the repacked layout (acts.go):
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
	VMOVDQU64 spread2<>(SB), Z27 \
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
// sequences can then share a pass over the weights without changing any of them (FourTokensExact).
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
