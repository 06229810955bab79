//go:build amd64 && !noasm

#include "textflag.h"

// AVX2 kernels over Q4_K rows packed in panels of 8 (the layout in kpanels.go): lane r of every register
// is row r. Per sub-block of 32 values, four 32-byte loads give (masked, and shifted and masked) eight
// rows' values four at a time, each against four activation bytes broadcast to every lane in VPMADDUBSW;
// the eight products add up in int16 (8 × 2 × 15 × 128 = 30720), and VPMADDWD by the rows' scales, spread
// by VPSHUFB from the six-bit words ggml's unpacking yields in the lanes, gives each row its exact int32
// Σ scale·Σ q·a. The mins meet the activations' sixteen sums the same way, and each row's float steps are
// DotKQ8_K's (acc += float(isum)·(d·da), then −= float(msum)·(dmin·da)), so every row gets its bits.
// The running sums live in out (eight floats a token and panel), which the kernels clear first. No
// software prefetch: measured on a Zen 2 VM, eighteen PREFETCHT0 a block cut the one-token stream from
// 11.0 to 9.3 GB/s, every other line to 6.3 (BenchmarkKPanels/stream/x1).
//
// Arguments: panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int (bytes).

DATA kp3f<>+0(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kp3f<>+8(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kp3f<>+16(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA kp3f<>+24(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL kp3f<>(SB), RODATA|NOPTR, $32
DATA kp03<>+0(SB)/8, $0x0303030303030303
DATA kp03<>+8(SB)/8, $0x0303030303030303
DATA kp03<>+16(SB)/8, $0x0303030303030303
DATA kp03<>+24(SB)/8, $0x0303030303030303
GLOBL kp03<>(SB), RODATA|NOPTR, $32
// kpSpread+32k: byte k of every 32-bit lane into both of its 16-bit words.
DATA kpSpread<>+0(SB)/8, $0x8004800480008000
DATA kpSpread<>+8(SB)/8, $0x800c800c80088008
DATA kpSpread<>+16(SB)/8, $0x8004800480008000
DATA kpSpread<>+24(SB)/8, $0x800c800c80088008
DATA kpSpread<>+32(SB)/8, $0x8005800580018001
DATA kpSpread<>+40(SB)/8, $0x800d800d80098009
DATA kpSpread<>+48(SB)/8, $0x8005800580018001
DATA kpSpread<>+56(SB)/8, $0x800d800d80098009
DATA kpSpread<>+64(SB)/8, $0x8006800680028002
DATA kpSpread<>+72(SB)/8, $0x800e800e800a800a
DATA kpSpread<>+80(SB)/8, $0x8006800680028002
DATA kpSpread<>+88(SB)/8, $0x800e800e800a800a
DATA kpSpread<>+96(SB)/8, $0x8007800780038003
DATA kpSpread<>+104(SB)/8, $0x800f800f800b800b
DATA kpSpread<>+112(SB)/8, $0x8007800780038003
DATA kpSpread<>+120(SB)/8, $0x800f800f800b800b
GLOBL kpSpread<>(SB), RODATA|NOPTR, $128

// KPCONSTS: Y15 = the nibble mask (through AX).
#define KPCONSTS \
	MOVL $0x0f0f0f0f, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15

// KPSCALES: the block's scales, bytes 0–3 of each row in Y13's lanes and 4–7 in Y12's (ggml's
// get_scale_min_k4 in every lane).
#define KPSCALES \
	VMOVDQU 32(SI), Y0 \
	VMOVDQU 96(SI), Y1 \
	VPAND   kp3f<>(SB), Y0, Y13 \
	VPSRLD  $6, Y0, Y2 \
	VPAND   kp03<>(SB), Y2, Y2 \
	VPSLLD  $4, Y2, Y2 \
	VPAND   Y15, Y1, Y12 \
	VPOR    Y2, Y12, Y12

// KPMINS: the block's mins, 0–3 in Y12 and 4–7 in Y13.
#define KPMINS \
	VMOVDQU 64(SI), Y1 \
	VMOVDQU 96(SI), Y2 \
	VPAND   kp3f<>(SB), Y1, Y12 \
	VPSRLD  $4, Y2, Y2 \
	VPAND   Y15, Y2, Y2 \
	VPSRLD  $6, Y1, Y3 \
	VPAND   kp03<>(SB), Y3, Y3 \
	VPSLLD  $4, Y3, Y3 \
	VPOR    Y3, Y2, Y13

#define KPUNPACK(nib) \
	VMOVDQU nib(SI), Y0 \
	VPSRLW  $4, Y0, Y1 \
	VPAND   Y15, Y0, Y0 \
	VPAND   Y15, Y1, Y1

// Four tokens: activations at DI + t·AX (R13 = 3·AX), int16 sums Y4–Y7, int32 sums Y8–Y11, out rows at
// R11 + t·DX (R14 = 3·DX).
#define KP4FIRST(w, off) \
	VPBROADCASTD off(DI), Y2 \
	VPMADDUBSW Y2, w, Y4 \
	VPBROADCASTD off(DI)(AX*1), Y2 \
	VPMADDUBSW Y2, w, Y5 \
	VPBROADCASTD off(DI)(AX*2), Y2 \
	VPMADDUBSW Y2, w, Y6 \
	VPBROADCASTD off(DI)(R13*1), Y2 \
	VPMADDUBSW Y2, w, Y7

#define KP4PROD(w, off) \
	VPBROADCASTD off(DI), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW  Y3, Y4, Y4 \
	VPBROADCASTD off(DI)(AX*1), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW  Y3, Y5, Y5 \
	VPBROADCASTD off(DI)(AX*2), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW  Y3, Y6, Y6 \
	VPBROADCASTD off(DI)(R13*1), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW  Y3, Y7, Y7

// KP4SUB is sub-block j: nibbles at nib(SI), activations from aoff, scales spread with table offset
// sp from sc.
#define KP4SUB(nib, aoff, sp, sc) \
	KPUNPACK(nib) \
	KP4FIRST(Y0, aoff) \
	KP4PROD(Y1, aoff+4) \
	KPUNPACK(nib+32) \
	KP4PROD(Y0, aoff+8) \
	KP4PROD(Y1, aoff+12) \
	KPUNPACK(nib+64) \
	KP4PROD(Y0, aoff+16) \
	KP4PROD(Y1, aoff+20) \
	KPUNPACK(nib+96) \
	KP4PROD(Y0, aoff+24) \
	KP4PROD(Y1, aoff+28) \
	VPSHUFB kpSpread<>+sp(SB), sc, Y14 \
	VPMADDWD Y14, Y4, Y4 \
	VPADDD  Y4, Y8, Y8 \
	VPMADDWD Y14, Y5, Y5 \
	VPADDD  Y5, Y9, Y9 \
	VPMADDWD Y14, Y6, Y6 \
	VPADDD  Y6, Y10, Y10 \
	VPMADDWD Y14, Y7, Y7 \
	VPADDD  Y7, Y11, Y11

// KP4MIN adds sub-block j's min times the activations' two sums at boff to the min sums Y4–Y7; KP4MIN0
// starts them.
#define KP4MIN0(boff, sp, mn) \
	VPSHUFB kpSpread<>+sp(SB), mn, Y14 \
	VPBROADCASTD boff(DI), Y2 \
	VPMADDWD Y2, Y14, Y4 \
	VPBROADCASTD boff(DI)(AX*1), Y2 \
	VPMADDWD Y2, Y14, Y5 \
	VPBROADCASTD boff(DI)(AX*2), Y2 \
	VPMADDWD Y2, Y14, Y6 \
	VPBROADCASTD boff(DI)(R13*1), Y2 \
	VPMADDWD Y2, Y14, Y7

#define KP4MIN(boff, sp, mn) \
	VPSHUFB kpSpread<>+sp(SB), mn, Y14 \
	VPBROADCASTD boff(DI), Y2 \
	VPMADDWD Y2, Y14, Y3 \
	VPADDD  Y3, Y4, Y4 \
	VPBROADCASTD boff(DI)(AX*1), Y2 \
	VPMADDWD Y2, Y14, Y3 \
	VPADDD  Y3, Y5, Y5 \
	VPBROADCASTD boff(DI)(AX*2), Y2 \
	VPMADDWD Y2, Y14, Y3 \
	VPADDD  Y3, Y6, Y6 \
	VPBROADCASTD boff(DI)(R13*1), Y2 \
	VPMADDWD Y2, Y14, Y3 \
	VPADDD  Y3, Y7, Y7

// KPFLOAT is one token's float steps: int32 sums i and mins m, its da at da, its out row at o; Y0 = the
// rows' d, Y1 their dmin.
#define KPFLOAT(i, m, da, o) \
	VBROADCASTSS da, Y2 \
	VMULPS  Y2, Y0, Y3 \
	VCVTDQ2PS i, i \
	VMULPS  Y3, i, i \
	VMOVUPS o, Y14 \
	VADDPS  i, Y14, Y14 \
	VMULPS  Y2, Y1, Y3 \
	VCVTDQ2PS m, m \
	VMULPS  Y3, m, m \
	VSUBPS  m, Y14, Y14 \
	VMOVUPS Y14, o

// One token: activations at DI, int16 sums Y4, int32 sums Y8, min sums Y5, out at R11.
#define KP1PROD(w, off) \
	VPBROADCASTD off(DI), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW  Y3, Y4, Y4

#define KP1SUB(nib, aoff, sp, sc) \
	KPUNPACK(nib) \
	VPBROADCASTD aoff(DI), Y2 \
	VPMADDUBSW Y2, Y0, Y4 \
	KP1PROD(Y1, aoff+4) \
	KPUNPACK(nib+32) \
	KP1PROD(Y0, aoff+8) \
	KP1PROD(Y1, aoff+12) \
	KPUNPACK(nib+64) \
	KP1PROD(Y0, aoff+16) \
	KP1PROD(Y1, aoff+20) \
	KPUNPACK(nib+96) \
	KP1PROD(Y0, aoff+24) \
	KP1PROD(Y1, aoff+28) \
	VPSHUFB kpSpread<>+sp(SB), sc, Y14 \
	VPMADDWD Y14, Y4, Y4 \
	VPADDD  Y4, Y8, Y8

#define KP1MIN(boff, sp, mn) \
	VPSHUFB kpSpread<>+sp(SB), mn, Y14 \
	VPBROADCASTD boff(DI), Y2 \
	VPMADDWD Y2, Y14, Y3 \
	VPADDD  Y3, Y5, Y5


// The one-token kernel over two panels at a time (two weight streams per core, as
// gemvQ4_0PanelAVX2x1x2): panel A at SI (scales Y13/Y12, sums Y8), panel B at R8 (Y11/Y10, Y9); each
// block's mins and float steps then run for A and for B in turn, the same steps as the one-panel kernel.
#define KPSCALESX(base, d03, d47) \
	VMOVDQU 32(base), Y0 \
	VMOVDQU 96(base), Y1 \
	VPAND   kp3f<>(SB), Y0, d03 \
	VPSRLD  $6, Y0, Y2 \
	VPAND   kp03<>(SB), Y2, Y2 \
	VPSLLD  $4, Y2, Y2 \
	VPAND   Y15, Y1, d47 \
	VPOR    Y2, d47, d47

#define KPMINSX(base) \
	VMOVDQU 64(base), Y1 \
	VMOVDQU 96(base), Y2 \
	VPAND   kp3f<>(SB), Y1, Y12 \
	VPSRLD  $4, Y2, Y2 \
	VPAND   Y15, Y2, Y2 \
	VPSRLD  $6, Y1, Y3 \
	VPAND   kp03<>(SB), Y3, Y3 \
	VPSLLD  $4, Y3, Y3 \
	VPOR    Y3, Y2, Y13

#define KPUNPACKX(nib, base) \
	VMOVDQU nib(base), Y0 \
	VPSRLW  $4, Y0, Y1 \
	VPAND   Y15, Y0, Y0 \
	VPAND   Y15, Y1, Y1

#define KP2SUB(nib, aoff, sp, sc, base, isum) \
	KPUNPACKX(nib, base) \
	VPBROADCASTD aoff(DI), Y2 \
	VPMADDUBSW Y2, Y0, Y4 \
	KP1PROD(Y1, aoff+4) \
	KPUNPACKX(nib+32, base) \
	KP1PROD(Y0, aoff+8) \
	KP1PROD(Y1, aoff+12) \
	KPUNPACKX(nib+64, base) \
	KP1PROD(Y0, aoff+16) \
	KP1PROD(Y1, aoff+20) \
	KPUNPACKX(nib+96, base) \
	KP1PROD(Y0, aoff+24) \
	KP1PROD(Y1, aoff+28) \
	VPSHUFB kpSpread<>+sp(SB), sc, Y14 \
	VPMADDWD Y14, Y4, Y4 \
	VPADDD  Y4, isum, isum

// KP2END is a panel's mins and float steps (its sums in isum, its out row at o).
#define KP2END(base, isum, o) \
	KPMINSX(base) \
	VPXOR   Y5, Y5, Y5 \
	KP1MIN(260, 0, Y12) \
	KP1MIN(264, 32, Y12) \
	KP1MIN(268, 64, Y12) \
	KP1MIN(272, 96, Y12) \
	KP1MIN(276, 0, Y13) \
	KP1MIN(280, 32, Y13) \
	KP1MIN(284, 64, Y13) \
	KP1MIN(288, 96, Y13) \
	VCVTPH2PS 0(base), Y0 \
	VCVTPH2PS 16(base), Y1 \
	KPFLOAT(isum, Y5, 0(DI), o)

// func gemvQ4_KPanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)
TEXT ·gemvQ4_KPanelAVX2x4(SB), NOSPLIT, $0-56
	KPCONSTS
	MOVQ panels+0(FP), SI
	MOVQ count+8(FP), BX
	MOVQ actStride+32(FP), AX
	LEAQ (AX)(AX*2), R13
	MOVQ out+40(FP), R11
	MOVQ outStride+48(FP), DX
	LEAQ (DX)(DX*2), R14
kp4panel:
	MOVQ acts+24(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVUPS Y14, (R11)
	VMOVUPS Y14, (R11)(DX*1)
	VMOVUPS Y14, (R11)(DX*2)
	VMOVUPS Y14, (R11)(R14*1)
kp4block:

	KPSCALES
	VPXOR   Y8, Y8, Y8
	VPXOR   Y9, Y9, Y9
	VPXOR   Y10, Y10, Y10
	VPXOR   Y11, Y11, Y11
	KP4SUB(128, 4, 0, Y13)
	KP4SUB(256, 36, 32, Y13)
	KP4SUB(384, 68, 64, Y13)
	KP4SUB(512, 100, 96, Y13)
	KP4SUB(640, 132, 0, Y12)
	KP4SUB(768, 164, 32, Y12)
	KP4SUB(896, 196, 64, Y12)
	KP4SUB(1024, 228, 96, Y12)
	KPMINS
	KP4MIN0(260, 0, Y12)
	KP4MIN(264, 32, Y12)
	KP4MIN(268, 64, Y12)
	KP4MIN(272, 96, Y12)
	KP4MIN(276, 0, Y13)
	KP4MIN(280, 32, Y13)
	KP4MIN(284, 64, Y13)
	KP4MIN(288, 96, Y13)
	VCVTPH2PS 0(SI), Y0
	VCVTPH2PS 16(SI), Y1
	KPFLOAT(Y8, Y4, 0(DI), (R11))
	KPFLOAT(Y9, Y5, 0(DI)(AX*1), (R11)(DX*1))
	KPFLOAT(Y10, Y6, 0(DI)(AX*2), (R11)(DX*2))
	KPFLOAT(Y11, Y7, 0(DI)(R13*1), (R11)(R14*1))
	ADDQ $1152, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  kp4block
	ADDQ $32, R11
	DECQ BX
	JNZ  kp4panel
	VZEROUPPER
	RET

// func gemvQ4_KPanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)
TEXT ·gemvQ4_KPanelAVX2x1(SB), NOSPLIT, $0-56
	KPCONSTS
	MOVQ panels+0(FP), SI
	MOVQ count+8(FP), BX
	MOVQ out+40(FP), R11
kp1panel:
	MOVQ acts+24(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVUPS Y14, (R11)
kp1block:
	KPSCALES
	VPXOR   Y8, Y8, Y8
	VPXOR   Y5, Y5, Y5
	KP1SUB(128, 4, 0, Y13)
	KP1SUB(256, 36, 32, Y13)
	KP1SUB(384, 68, 64, Y13)
	KP1SUB(512, 100, 96, Y13)
	KP1SUB(640, 132, 0, Y12)
	KP1SUB(768, 164, 32, Y12)
	KP1SUB(896, 196, 64, Y12)
	KP1SUB(1024, 228, 96, Y12)
	KPMINS
	KP1MIN(260, 0, Y12)
	KP1MIN(264, 32, Y12)
	KP1MIN(268, 64, Y12)
	KP1MIN(272, 96, Y12)
	KP1MIN(276, 0, Y13)
	KP1MIN(280, 32, Y13)
	KP1MIN(284, 64, Y13)
	KP1MIN(288, 96, Y13)
	VCVTPH2PS 0(SI), Y0
	VCVTPH2PS 16(SI), Y1
	KPFLOAT(Y8, Y5, 0(DI), (R11))
	ADDQ $1152, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  kp1block
	ADDQ $32, R11
	DECQ BX
	JNZ  kp1panel
	VZEROUPPER
	RET

// func gemvQ4_KPanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)
// count is even.
TEXT ·gemvQ4_KPanelAVX2x1x2(SB), NOSPLIT, $0-56
	KPCONSTS
	MOVQ panels+0(FP), SI
	MOVQ count+8(FP), BX
	SHRQ $1, BX
	MOVQ out+40(FP), R11
	MOVQ nb+16(FP), R13
	IMULQ $1152, R13 // a panel's bytes
kp2panel:
	LEAQ (SI)(R13*1), R8
	MOVQ acts+24(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS Y14, Y14, Y14
	VMOVUPS Y14, (R11)
	VMOVUPS Y14, 32(R11)
kp2block:
	KPSCALESX(SI, Y13, Y12)
	KPSCALESX(R8, Y11, Y10)
	VPXOR   Y8, Y8, Y8
	VPXOR   Y9, Y9, Y9
	KP2SUB(128, 4, 0, Y13, SI, Y8)
	KP2SUB(128, 4, 0, Y11, R8, Y9)
	KP2SUB(256, 36, 32, Y13, SI, Y8)
	KP2SUB(256, 36, 32, Y11, R8, Y9)
	KP2SUB(384, 68, 64, Y13, SI, Y8)
	KP2SUB(384, 68, 64, Y11, R8, Y9)
	KP2SUB(512, 100, 96, Y13, SI, Y8)
	KP2SUB(512, 100, 96, Y11, R8, Y9)
	KP2SUB(640, 132, 0, Y12, SI, Y8)
	KP2SUB(640, 132, 0, Y10, R8, Y9)
	KP2SUB(768, 164, 32, Y12, SI, Y8)
	KP2SUB(768, 164, 32, Y10, R8, Y9)
	KP2SUB(896, 196, 64, Y12, SI, Y8)
	KP2SUB(896, 196, 64, Y10, R8, Y9)
	KP2SUB(1024, 228, 96, Y12, SI, Y8)
	KP2SUB(1024, 228, 96, Y10, R8, Y9)
	KP2END(SI, Y8, (R11))
	KP2END(R8, Y9, 32(R11))
	ADDQ $1152, SI
	ADDQ $1152, R8
	ADDQ $292, DI
	DECQ CX
	JNZ  kp2block
	ADDQ $64, R11
	MOVQ R8, SI
	DECQ BX
	JNZ  kp2panel
	VZEROUPPER
	RET
