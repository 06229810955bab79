//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX-512 VNNI kernels for Q4_0 and Q8_0 rows as stored, against packed activation pairs.
// Register use: constants live in Z24–Z31, accumulators in Z8–Z15 so that the final reductions can use
// VEX-encoded 128/256-bit instructions.

DATA lowNibble<>+0(SB)/1, $0x0f
GLOBL lowNibble<>(SB), RODATA|NOPTR, $1
DATA signBit<>+0(SB)/1, $0x80
GLOBL signBit<>(SB), RODATA|NOPTR, $1

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
// Spread two floats over the lanes of their blocks: [d0 ×8, d1 ×8] (repacked_vnni_amd64.s uses it too).
DATA ·spread2+0(SB)/8, $0
DATA ·spread2+8(SB)/8, $0
DATA ·spread2+16(SB)/8, $0
DATA ·spread2+24(SB)/8, $0
DATA ·spread2+32(SB)/8, $0x0000000100000001
DATA ·spread2+40(SB)/8, $0x0000000100000001
DATA ·spread2+48(SB)/8, $0x0000000100000001
DATA ·spread2+56(SB)/8, $0x0000000100000001
GLOBL ·spread2(SB), RODATA|NOPTR, $64

// ---------------------------------------------------------------------------------------------------------
// Q4_0 and Q8_0 weights against packed Q8_0 activations (see q8acts.go): per block pair, 64 activation bytes,
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
	VMOVDQU64 ·spread2(SB), Z27


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
