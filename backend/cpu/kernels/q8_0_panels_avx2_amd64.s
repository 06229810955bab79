//go:build amd64 && !noasm

#include "textflag.h"

// AVX2 kernels over Q8_0 rows packed in panels of 16 (the layout in panels.go): a 32-byte half of a
// group holds four values of each of eight rows, one row per 32-bit lane, and meets four activation bytes
// broadcast to every lane through the VPSIGNB trick (|w| × a·sign(w) in VPMADDUBSW, the pairs to int32 by
// VPMADDWD against ones): eight rows' exact Σ a·w of a block per token without a horizontal sum, then
// acc = fma(float(sum)·da, dw, acc) per row, the same steps whatever the token count.
//
// Arguments: panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out
// *float32, outStride int (strides in bytes; tab is ResetPanels' table, da of token t at tab + 4t).

#define Q8PCONSTS \
	MOVL $0x00010001, AX \
	VMOVD AX, X14 \
	VPBROADCASTD X14, Y14

// Four tokens: activations at DI + t·AX (R13 = 3·AX), int32 sums Y4–Y7, float sums Y8–Y11.
#define Q8P4GROUP(w, a, FIRST) \
	VMOVDQU w(SI), Y0 \
	VPSIGNB Y0, Y0, Y1 \
	VPBROADCASTD a(DI), Y2 \
	VPSIGNB Y0, Y2, Y2 \
	VPMADDUBSW Y2, Y1, Y3 \
	FIRST(Y3, Y4) \
	VPBROADCASTD a(DI)(AX*1), Y2 \
	VPSIGNB Y0, Y2, Y2 \
	VPMADDUBSW Y2, Y1, Y3 \
	FIRST(Y3, Y5) \
	VPBROADCASTD a(DI)(AX*2), Y2 \
	VPSIGNB Y0, Y2, Y2 \
	VPMADDUBSW Y2, Y1, Y3 \
	FIRST(Y3, Y6) \
	VPBROADCASTD a(DI)(R13*1), Y2 \
	VPSIGNB Y0, Y2, Y2 \
	VPMADDUBSW Y2, Y1, Y3 \
	FIRST(Y3, Y7)

// Q8PSTART sets s to the pairs of p summed; Q8PADD adds them to s.
#define Q8PSTART(p, s) \
	VPMADDWD Y14, p, s
#define Q8PADD(p, s) \
	VPMADDWD Y14, p, p \
	VPADDD  p, s, s

#define Q8P4SCALE(s, acc, toff) \
	VCVTDQ2PS s, s \
	VBROADCASTSS toff(R9), Y13 \
	VMULPS  Y13, s, s \
	VFMADD231PS Y12, s, acc

// Q8P4BLOCK is one block of eight rows: the half's values at w(SI) + 64q, its scales at sc(SI).
#define Q8P4BLOCK(w, sc) \
	Q8P4GROUP(w, 2, Q8PSTART) \
	Q8P4GROUP(w+64, 6, Q8PADD) \
	Q8P4GROUP(w+128, 10, Q8PADD) \
	Q8P4GROUP(w+192, 14, Q8PADD) \
	Q8P4GROUP(w+256, 18, Q8PADD) \
	Q8P4GROUP(w+320, 22, Q8PADD) \
	Q8P4GROUP(w+384, 26, Q8PADD) \
	Q8P4GROUP(w+448, 30, Q8PADD) \
	VCVTPH2PS sc(SI), Y12 \
	Q8P4SCALE(Y4, Y8, 0) \
	Q8P4SCALE(Y5, Y9, 4) \
	Q8P4SCALE(Y6, Y10, 8) \
	Q8P4SCALE(Y7, Y11, 12) \
	ADDQ $544, SI \
	ADDQ $34, DI \
	ADDQ R12, R9

#define Q8P4HALF(w, sc, label) \
	MOVQ acts+24(FP), DI \
	MOVQ tab+40(FP), R9 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11 \
	MOVQ nb+16(FP), CX \
	MOVQ R8, SI \
label: \
	Q8P4BLOCK(w, sc) \
	DECQ CX \
	JNZ  label

#define Q8P4STORE(off) \
	VMOVUPS Y8, off(R11) \
	VMOVUPS Y9, off(R11)(DX*1) \
	VMOVUPS Y10, off(R11)(DX*2) \
	VMOVUPS Y11, off(R11)(R14*1)

// One token: the block's activations broadcast to Y0–Y7, the sums in Y12, float sums Y8 (rows 0–7) and
// Y9 (8–15).
#define Q8P1ACTS \
	VPBROADCASTD 2(DI), Y0 \
	VPBROADCASTD 6(DI), Y1 \
	VPBROADCASTD 10(DI), Y2 \
	VPBROADCASTD 14(DI), Y3 \
	VPBROADCASTD 18(DI), Y4 \
	VPBROADCASTD 22(DI), Y5 \
	VPBROADCASTD 26(DI), Y6 \
	VPBROADCASTD 30(DI), Y7

#define Q8P1GROUP(w, a, FIRST) \
	VMOVDQU w(SI), Y10 \
	VPSIGNB Y10, Y10, Y11 \
	VPSIGNB Y10, a, Y13 \
	VPMADDUBSW Y13, Y11, Y13 \
	FIRST(Y13, Y12)

#define Q8P1HALF(w, sc, acc) \
	Q8P1GROUP(w, Y0, Q8PSTART) \
	Q8P1GROUP(w+64, Y1, Q8PADD) \
	Q8P1GROUP(w+128, Y2, Q8PADD) \
	Q8P1GROUP(w+192, Y3, Q8PADD) \
	Q8P1GROUP(w+256, Y4, Q8PADD) \
	Q8P1GROUP(w+320, Y5, Q8PADD) \
	Q8P1GROUP(w+384, Y6, Q8PADD) \
	Q8P1GROUP(w+448, Y7, Q8PADD) \
	VCVTDQ2PS Y12, Y12 \
	VBROADCASTSS (R9), Y10 \
	VMULPS  Y10, Y12, Y12 \
	VCVTPH2PS sc(SI), Y11 \
	VFMADD231PS Y11, Y12, acc

// func gemvQ8_0PanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)
TEXT ·gemvQ8_0PanelAVX2x4(SB), NOSPLIT, $0-72
	Q8PCONSTS
	MOVQ panels+0(FP), R8
	MOVQ count+8(FP), BX
	MOVQ actStride+32(FP), AX
	LEAQ (AX)(AX*2), R13
	MOVQ tabStride+48(FP), R12
	MOVQ out+56(FP), R11
	MOVQ outStride+64(FP), DX
	LEAQ (DX)(DX*2), R14
q8p4panel:
	Q8P4HALF(32, 0, q8p4lo)
	Q8P4STORE(0)
	Q8P4HALF(64, 16, q8p4hi)
	Q8P4STORE(32)
	MOVQ SI, R8
	ADDQ $64, R11
	DECQ BX
	JNZ  q8p4panel
	VZEROUPPER
	RET

// func gemvQ8_0PanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)
TEXT ·gemvQ8_0PanelAVX2x1(SB), NOSPLIT, $0-72
	Q8PCONSTS
	MOVQ panels+0(FP), SI
	MOVQ count+8(FP), BX
	MOVQ tabStride+48(FP), R12
	MOVQ out+56(FP), R11
q8p1panel:
	MOVQ acts+24(FP), DI
	MOVQ tab+40(FP), R9
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	MOVQ nb+16(FP), CX
q8p1block:
	Q8P1ACTS
	Q8P1HALF(32, 0, Y8)
	Q8P1HALF(64, 16, Y9)
	ADDQ $544, SI
	ADDQ $34, DI
	ADDQ R12, R9
	DECQ CX
	JNZ  q8p1block
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 32(R11)
	ADDQ $64, R11
	DECQ BX
	JNZ  q8p1panel
	VZEROUPPER
	RET

// The one-token kernel over two panels at a time (two weight streams per core, as
// gemvQ4_0PanelAVX2x1x2): panel B at R8, its float sums Y14/Y15, the ones from memory.

DATA q8pOnes<>+0(SB)/8, $0x0001000100010001
DATA q8pOnes<>+8(SB)/8, $0x0001000100010001
DATA q8pOnes<>+16(SB)/8, $0x0001000100010001
DATA q8pOnes<>+24(SB)/8, $0x0001000100010001
GLOBL q8pOnes<>(SB), RODATA|NOPTR, $32

#define Q8PSTARTM(p, s) \
	VPMADDWD q8pOnes<>(SB), p, s
#define Q8PADDM(p, s) \
	VPMADDWD q8pOnes<>(SB), p, p \
	VPADDD  p, s, s

#define Q8P2GROUP(w, base, a, FIRST) \
	VMOVDQU w(base), Y10 \
	VPSIGNB Y10, Y10, Y11 \
	VPSIGNB Y10, a, Y13 \
	VPMADDUBSW Y13, Y11, Y13 \
	FIRST(Y13, Y12)

#define Q8P2HALF(w, sc, base, acc) \
	Q8P2GROUP(w, base, Y0, Q8PSTARTM) \
	Q8P2GROUP(w+64, base, Y1, Q8PADDM) \
	Q8P2GROUP(w+128, base, Y2, Q8PADDM) \
	Q8P2GROUP(w+192, base, Y3, Q8PADDM) \
	Q8P2GROUP(w+256, base, Y4, Q8PADDM) \
	Q8P2GROUP(w+320, base, Y5, Q8PADDM) \
	Q8P2GROUP(w+384, base, Y6, Q8PADDM) \
	Q8P2GROUP(w+448, base, Y7, Q8PADDM) \
	VCVTDQ2PS Y12, Y12 \
	VBROADCASTSS (R9), Y10 \
	VMULPS  Y10, Y12, Y12 \
	VCVTPH2PS sc(base), Y11 \
	VFMADD231PS Y11, Y12, acc

// func gemvQ8_0PanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)
// count is even.
TEXT ·gemvQ8_0PanelAVX2x1x2(SB), NOSPLIT, $0-72
	MOVQ panels+0(FP), SI
	MOVQ count+8(FP), BX
	SHRQ $1, BX
	MOVQ tabStride+48(FP), R12
	MOVQ out+56(FP), R11
	MOVQ nb+16(FP), R13
	IMULQ $544, R13 // a panel's bytes
q8p2panel:
	LEAQ (SI)(R13*1), R8
	MOVQ acts+24(FP), DI
	MOVQ tab+40(FP), R9
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ nb+16(FP), CX
q8p2block:
	Q8P1ACTS
	Q8P2HALF(32, 0, SI, Y8)
	Q8P2HALF(64, 16, SI, Y9)
	Q8P2HALF(32, 0, R8, Y14)
	Q8P2HALF(64, 16, R8, Y15)
	ADDQ $544, SI
	ADDQ $544, R8
	ADDQ $34, DI
	ADDQ R12, R9
	DECQ CX
	JNZ  q8p2block
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 32(R11)
	VMOVUPS Y14, 64(R11)
	VMOVUPS Y15, 96(R11)
	ADDQ $128, R11
	MOVQ R8, SI
	DECQ BX
	JNZ  q8p2panel
	VZEROUPPER
	RET
