//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX2 Q4_1/Q5_0/Q5_1 · Q8_0 dots (file layout, ggml Q8_0 activations) for CPUs without AVX-512 VNNI,
// where these rows are not repacked. Per block: the 32 values as bytes in activation order (low nibbles,
// then high), the fifth bits spread from qh by VPSHUFB/VPCMPEQB (ggml's bytes_from_bits_32); Q5_0's
// signed values (−16…15) meet the activations through the VPSIGNB trick, Q4_1/Q5_1's unsigned ones
// directly, plus min·da·Σa. Lanes are exact int32 sums, accumulated in float with FMA.

DATA q45Low<>+0(SB)/1, $0x0f
GLOBL q45Low<>(SB), RODATA|NOPTR, $1
DATA q45Sixteen<>+0(SB)/1, $0x10
GLOBL q45Sixteen<>(SB), RODATA|NOPTR, $1
DATA q45One<>+0(SB)/1, $1
GLOBL q45One<>(SB), RODATA|NOPTR, $1
DATA q45Ones16<>+0(SB)/2, $1
GLOBL q45Ones16<>(SB), RODATA|NOPTR, $2
// byte j of qh's 32 bits: shuffle byte j/8 into place, then test bit j%8.
DATA q45Shuf<>+0(SB)/8, $0x0000000000000000
DATA q45Shuf<>+8(SB)/8, $0x0101010101010101
DATA q45Shuf<>+16(SB)/8, $0x0202020202020202
DATA q45Shuf<>+24(SB)/8, $0x0303030303030303
GLOBL q45Shuf<>(SB), RODATA|NOPTR, $32
DATA q45Bits<>+0(SB)/8, $0x8040201008040201
DATA q45Bits<>+8(SB)/8, $0x8040201008040201
DATA q45Bits<>+16(SB)/8, $0x8040201008040201
DATA q45Bits<>+24(SB)/8, $0x8040201008040201
GLOBL q45Bits<>(SB), RODATA|NOPTR, $32

// Y0 = the 32 nibble values of the block whose 16 nibble bytes are at off(SI).
#define NIBBLES(off) \
	VMOVDQU off(SI), X0 \
	VPSRLW  $4, X0, X1 \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND   Y15, Y0, Y0

// Y0 |= 16 where the bits of the 32-bit qh at off(SI) are set.
#define FIFTH(off) \
	VPBROADCASTD off(SI), Y1 \
	VPSHUFB Y12, Y1, Y1 \
	VPAND   Y11, Y1, Y1 \
	VPCMPEQB Y11, Y1, Y1 \
	VPAND   Y14, Y1, Y1 \
	VPOR    Y1, Y0, Y0

// X2 = f16 at woff(SI) · f16 at 0(DI), broadcast to Y2.
#define DPROD(woff, y) \
	MOVWLZX woff(SI), AX \
	VMOVD   AX, X2 \
	VCVTPH2PS X2, X2 \
	MOVWLZX 0(DI), DX \
	VMOVD   DX, X3 \
	VCVTPH2PS X3, X3 \
	VMULSS  X3, X2, X2 \
	VBROADCASTSS X2, y

#define Q45CONSTS \
	VPBROADCASTB q45Low<>(SB), Y15 \
	VPBROADCASTB q45Sixteen<>(SB), Y14 \
	VPBROADCASTB q45One<>(SB), Y13 \
	VMOVDQU q45Shuf<>(SB), Y12 \
	VMOVDQU q45Bits<>(SB), Y11 \
	VPBROADCASTW q45Ones16<>(SB), Y10 \
	VXORPS  Y8, Y8, Y8 \
	VXORPS  Y9, Y9, Y9

// Unsigned values (Y0) times the activations at 2(DI), scaled by d (Y4), into Y8; the min term
// m·da (Y5) times Σa into Y9.
#define UNSIGNEDDOT \
	VMOVDQU 2(DI), Y6 \
	VPMADDUBSW Y6, Y0, Y7 \
	VPMADDWD Y10, Y7, Y7 \
	VCVTDQ2PS Y7, Y7 \
	VFMADD231PS Y4, Y7, Y8 \
	VPMADDUBSW Y6, Y13, Y7 \
	VPMADDWD Y10, Y7, Y7 \
	VCVTDQ2PS Y7, Y7 \
	VFMADD231PS Y5, Y7, Y9

#define FINISH \
	VADDPS  Y9, Y8, Y8 \
	HSUMX(Y8, X8, X1) \
	VZEROUPPER \
	MOVSS X8, ret+24(FP) \
	RET

// func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_0Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q45CONSTS
q50loop:
	PREFETCHT0 1408(SI) // 64 blocks ahead (the hardware prefetcher alone falls behind)
	NIBBLES(6)
	FIFTH(2)
	VPSUBB  Y14, Y0, Y0
	DPROD(0, Y4)
	VMOVDQU 2(DI), Y6
	VPSIGNB Y0, Y0, Y1
	VPSIGNB Y0, Y6, Y6
	VPMADDUBSW Y6, Y1, Y7
	VPMADDWD Y10, Y7, Y7
	VCVTDQ2PS Y7, Y7
	VFMADD231PS Y4, Y7, Y8
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q50loop
	FINISH

// func dotQ4_1Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ4_1Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q45CONSTS
q41loop:
	PREFETCHT0 1408(SI) // 64 blocks ahead (the hardware prefetcher alone falls behind)
	NIBBLES(4)
	DPROD(0, Y4)
	DPROD(2, Y5)
	UNSIGNEDDOT
	ADDQ $20, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q41loop
	FINISH

// func dotQ5_1Q8_0AVX2(w, a *byte, nb int) float32
TEXT ·dotQ5_1Q8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ a+8(FP), DI
	MOVQ nb+16(FP), CX
	Q45CONSTS
q51loop:
	PREFETCHT0 1408(SI) // 64 blocks ahead (the hardware prefetcher alone falls behind)
	NIBBLES(8)
	FIFTH(4)
	DPROD(0, Y4)
	DPROD(2, Y5)
	UNSIGNEDDOT
	ADDQ $24, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q51loop
	FINISH

// The four-token Q5_0 kernel (prompts, batches of sequences): each block's values are unpacked once and
// meet four activation rows (R8–R11, their float32 scales at R12–R14 and DI, as gemv4Q4_0AVX2 takes
// them), each token through dotQ5_0Q8_0AVX2's steps (the same d = dw·da, the same FMA, the same final add
// of a zero vector and sum of lanes), so every token gets its bits. Y5–Y8 are the tokens' lanes.
#define Q50TOKEN(r, s, acc) \
	VMOVDQU 2(r), Y3 \
	VPSIGNB Y0, Y3, Y3 \
	VPMADDUBSW Y3, Y1, Y3 \
	VPMADDWD Y10, Y3, Y3 \
	VCVTDQ2PS Y3, Y3 \
	VBROADCASTSS 0(s), Y4 \
	VMULPS  Y4, Y2, Y4 \
	VFMADD231PS Y4, Y3, acc \
	ADDQ $34, r \
	ADDQ $4, s

#define Q50STORE(acc, x, off) \
	VADDPS  Y9, acc, acc \
	HSUMX(acc, x, X1) \
	VMOVSS  x, off(DX)

// func gemv4Q5_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)
TEXT ·gemv4Q5_0AVX2(SB), NOSPLIT, $0-88
	MOVQ w+0(FP), SI
	MOVQ a0+8(FP), R8
	MOVQ a1+16(FP), R9
	MOVQ a2+24(FP), R10
	MOVQ a3+32(FP), R11
	MOVQ s0+40(FP), R12
	MOVQ s1+48(FP), R13
	MOVQ s2+56(FP), R14
	MOVQ s3+64(FP), DI
	MOVQ nb+72(FP), CX
	VPBROADCASTB q45Low<>(SB), Y15
	VPBROADCASTB q45Sixteen<>(SB), Y14
	VMOVDQU q45Shuf<>(SB), Y12
	VMOVDQU q45Bits<>(SB), Y11
	VPBROADCASTW q45Ones16<>(SB), Y10
	VXORPS  Y5, Y5, Y5
	VXORPS  Y6, Y6, Y6
	VXORPS  Y7, Y7, Y7
	VXORPS  Y8, Y8, Y8
q504loop:
	PREFETCHT0 1408(SI)
	NIBBLES(6)
	FIFTH(2)
	VPSUBB  Y14, Y0, Y0
	VPSIGNB Y0, Y0, Y1
	MOVWLZX 0(SI), AX
	VMOVD   AX, X2
	VCVTPH2PS X2, X2
	VBROADCASTSS X2, Y2
	Q50TOKEN(R8, R12, Y5)
	Q50TOKEN(R9, R13, Y6)
	Q50TOKEN(R10, R14, Y7)
	Q50TOKEN(R11, DI, Y8)
	ADDQ $22, SI
	DECQ CX
	JNZ  q504loop
	MOVQ out+80(FP), DX
	VXORPS  Y9, Y9, Y9
	Q50STORE(Y5, X5, 0)
	Q50STORE(Y6, X6, 4)
	Q50STORE(Y7, X7, 8)
	Q50STORE(Y8, X8, 12)
	VZEROUPPER
	RET
