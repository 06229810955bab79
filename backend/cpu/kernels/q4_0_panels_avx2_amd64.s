//go:build amd64 && !noasm

#include "textflag.h"

// AVX2 kernels over Q4_0 rows packed in panels of 16 (the layout in panels.go), for CPUs without VNNI.
// A 32-byte half of a 64-byte nibble chunk holds, for eight rows (one per 32-bit lane), four consecutive
// values of each: after a mask (low nibbles) or a shift and a mask (high nibbles) it meets four activation
// bytes broadcast to every lane in VPMADDUBSW (unsigned weights 0–15 × signed activations, pairs summed to
// int16). The eight such products of a block add up in int16 without saturating (8 × 2 × 15 × 128 =
// 30720), one VPMADDWD against ones gives each lane its row's exact int32 sum, and then, as in the VNNI
// and AMX kernels, acc += (float(sum)·da + corr)·dw: every kernel here gives every row the same bits,
// whatever the token count, and the same bits as the AVX-512 panel kernels.
//
// Arguments (all kernels): cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32,
// tabStride, corrOff int, staging *byte, out *float32, outStride, n int. cfg and staging are unused here,
// and n too (the kernels take one and four tokens).

// PREFETCH9 prefetches the nine cache lines of a pair of blocks at off(r).
#define PREFETCH9(off, r) \
	PREFETCHT0 off(r) \
	PREFETCHT0 (off+64)(r) \
	PREFETCHT0 (off+128)(r) \
	PREFETCHT0 (off+192)(r) \
	PREFETCHT0 (off+256)(r) \
	PREFETCHT0 (off+320)(r) \
	PREFETCHT0 (off+384)(r) \
	PREFETCHT0 (off+448)(r) \
	PREFETCHT0 (off+512)(r)

// CONSTS sets Y15 to the nibble mask and Y14 to int16 ones (through AX).
#define CONSTS \
	MOVL $0x0f0f0f0f, AX \
	VMOVD AX, X15 \
	VPBROADCASTD X15, Y15 \
	MOVL $0x00010001, AX \
	VMOVD AX, X14 \
	VPBROADCASTD X14, Y14

// ACTS1 broadcasts the 32 activation bytes of the block at DI, four at a time, to Y0–Y7.
#define ACTS1 \
	VPBROADCASTD 2(DI), Y0 \
	VPBROADCASTD 6(DI), Y1 \
	VPBROADCASTD 10(DI), Y2 \
	VPBROADCASTD 14(DI), Y3 \
	VPBROADCASTD 18(DI), Y4 \
	VPBROADCASTD 22(DI), Y5 \
	VPBROADCASTD 26(DI), Y6 \
	VPBROADCASTD 30(DI), Y7

// CHUNK1 adds chunk m's two products (values 8m…8m+3 against alo, 8m+4…8m+7 against ahi) for the eight
// rows at nib(SI) to the int16 sums in Y12; FIRST1 starts them.
#define FIRST1(nib, alo, ahi) \
	VMOVDQU nib(SI), Y10 \
	VPSRLW $4, Y10, Y13 \
	VPAND Y15, Y10, Y10 \
	VPAND Y15, Y13, Y13 \
	VPMADDUBSW alo, Y10, Y12 \
	VPMADDUBSW ahi, Y13, Y11 \
	VPADDW Y11, Y12, Y12

#define CHUNK1(nib, alo, ahi) \
	VMOVDQU nib(SI), Y10 \
	VPSRLW $4, Y10, Y13 \
	VPAND Y15, Y10, Y10 \
	VPAND Y15, Y13, Y13 \
	VPMADDUBSW alo, Y10, Y11 \
	VPADDW Y11, Y12, Y12 \
	VPMADDUBSW ahi, Y13, Y11 \
	VPADDW Y11, Y12, Y12

// HALF1 is one block for eight rows: nibbles at nib(SI), their f16 scales at sc(SI), into acc.
#define HALF1(nib, sc, acc) \
	FIRST1(nib, Y0, Y1) \
	CHUNK1(nib+64, Y2, Y3) \
	CHUNK1(nib+128, Y4, Y5) \
	CHUNK1(nib+192, Y6, Y7) \
	VPMADDWD Y14, Y12, Y12 \
	VCVTDQ2PS Y12, Y12 \
	VBROADCASTSS (R9), Y11 \
	VBROADCASTSS (R10), Y10 \
	VFMADD213PS Y10, Y11, Y12 \
	VCVTPH2PS sc(SI), Y10 \
	VFMADD231PS Y10, Y12, acc

// BLOCK1 is one block of the panel for the token at DI (nibbles at nib(SI), scales at sc(SI)), then the
// next block's activations and table entries.
#define BLOCK1(nib, sc) \
	ACTS1 \
	HALF1(nib, sc, Y8) \
	HALF1(nib+32, sc+16, Y9) \
	ADDQ $34, DI \
	ADDQ R12, R9 \
	ADDQ R12, R10

// func gemvQ4_0PanelAVX2x1(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)
TEXT ·gemvQ4_0PanelAVX2x1(SB), NOSPLIT, $0-104
	MOVQ panels+8(FP), SI
	MOVQ tabStride+56(FP), R12
	MOVQ out+80(FP), R11
	MOVQ count+16(FP), BX
	CONSTS
avx2p1panel:
	MOVQ acts+32(FP), DI
	MOVQ tab+48(FP), R9
	MOVQ R9, R10
	ADDQ corrOff+64(FP), R10
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	MOVQ nb+24(FP), CX
	SHRQ $1, CX
avx2p1pair:
	// A pair of blocks is nine cache lines; the hardware prefetcher alone does not keep a stream ahead.
	PREFETCH9(2304, SI)
	BLOCK1(64, 0)
	BLOCK1(320, 32)
	ADDQ $576, SI
	DECQ CX
	JNZ  avx2p1pair
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 32(R11)
	ADDQ $64, R11
	DECQ BX
	JNZ  avx2p1panel
	VZEROUPPER
	RET

// The four-token kernel takes a panel in one pass, a block's two halves (rows 0–7, 8–15) one after the
// other: the weights of a chunk are unpacked once for the four tokens. Y0/Y1 the unpacked values, Y2 an
// activation broadcast, Y3 a product, Y4–Y7 the tokens' int16 sums, Y8–Y11 the float sums of rows 0–7
// and Y12–Y15 of rows 8–15, so the nibble mask and the int16 ones come from memory. Token t's
// activations are at DI + t·AX (R13 = 3·AX), its table entries at R9 + 4t (da) and R10 + 4t (corr).
// (A first version took the two halves in two passes over the panel, holding eight rows' sums: the
// second pass read no memory, and streamed from memory it ran at 92–109 GFLOP/s a core where one pass
// runs at 121–127, BenchmarkPanels/Q4_0/stream/x4, alternating.)

// PROD4 multiplies the unpacked values in w by the four tokens' bytes at off and adds the products to
// Y4–Y7; FIRST4 starts the sums.
#define PROD4(w, off) \
	VPBROADCASTD off(DI), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW Y3, Y4, Y4 \
	VPBROADCASTD off(DI)(AX*1), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW Y3, Y5, Y5 \
	VPBROADCASTD off(DI)(AX*2), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW Y3, Y6, Y6 \
	VPBROADCASTD off(DI)(R13*1), Y2 \
	VPMADDUBSW Y2, w, Y3 \
	VPADDW Y3, Y7, Y7

#define FIRST4(w, off) \
	VPBROADCASTD off(DI), Y2 \
	VPMADDUBSW Y2, w, Y4 \
	VPBROADCASTD off(DI)(AX*1), Y2 \
	VPMADDUBSW Y2, w, Y5 \
	VPBROADCASTD off(DI)(AX*2), Y2 \
	VPMADDUBSW Y2, w, Y6 \
	VPBROADCASTD off(DI)(R13*1), Y2 \
	VPMADDUBSW Y2, w, Y7

// UNPACK4 unpacks a chunk's low and high nibbles (eight rows, four values each) into Y0 and Y1.
#define UNPACK4(nib) \
	VMOVDQU nib(SI), Y0 \
	VPSRLW $4, Y0, Y1 \
	VPAND p2mask<>(SB), Y0, Y0 \
	VPAND p2mask<>(SB), Y1, Y1

// SCALE4 finishes token t's block: its int16 sums s to int32, to float, times da plus corr, times the
// rows' scales (Y0) added to acc.
#define SCALE4(s, acc, toff) \
	VPMADDWD p2ones<>(SB), s, s \
	VCVTDQ2PS s, s \
	VBROADCASTSS toff(R9), Y2 \
	VBROADCASTSS toff(R10), Y3 \
	VFMADD213PS Y3, Y2, s \
	VFMADD231PS Y0, s, acc

// HALF4 is one block of eight rows (nibbles at nib(SI), scales at sc(SI)) for the four tokens, into
// a0–a3.
#define HALF4(nib, sc, a0, a1, a2, a3) \
	UNPACK4(nib) \
	FIRST4(Y0, 2) \
	PROD4(Y1, 6) \
	UNPACK4(nib+64) \
	PROD4(Y0, 10) \
	PROD4(Y1, 14) \
	UNPACK4(nib+128) \
	PROD4(Y0, 18) \
	PROD4(Y1, 22) \
	UNPACK4(nib+192) \
	PROD4(Y0, 26) \
	PROD4(Y1, 30) \
	VCVTPH2PS sc(SI), Y0 \
	SCALE4(Y4, a0, 0) \
	SCALE4(Y5, a1, 4) \
	SCALE4(Y6, a2, 8) \
	SCALE4(Y7, a3, 12)

// BLOCK16 is one block of the panel's sixteen rows, then the next block's activations and table entries.
#define BLOCK16(nib, sc) \
	HALF4(nib, sc, Y8, Y9, Y10, Y11) \
	HALF4(nib+32, sc+16, Y12, Y13, Y14, Y15) \
	ADDQ $34, DI \
	ADDQ R12, R9 \
	ADDQ R12, R10

// func gemvQ4_0PanelAVX2x4(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)
TEXT ·gemvQ4_0PanelAVX2x4(SB), NOSPLIT, $0-104
	MOVQ panels+8(FP), SI
	MOVQ actStride+40(FP), AX
	LEAQ (AX)(AX*2), R13
	MOVQ tabStride+56(FP), R12
	MOVQ out+80(FP), R11
	MOVQ outStride+88(FP), DX
	LEAQ (DX)(DX*2), R14
	MOVQ count+16(FP), BX
avx2p4panel:
	MOVQ acts+32(FP), DI
	MOVQ tab+48(FP), R9
	MOVQ R9, R10
	ADDQ corrOff+64(FP), R10
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ nb+24(FP), CX
	SHRQ $1, CX
avx2p4pair:
	PREFETCH9(2304, SI)
	BLOCK16(64, 0)
	BLOCK16(320, 32)
	ADDQ $576, SI
	DECQ CX
	JNZ  avx2p4pair
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, (R11)(DX*1)
	VMOVUPS Y10, (R11)(DX*2)
	VMOVUPS Y11, (R11)(R14*1)
	VMOVUPS Y12, 32(R11)
	VMOVUPS Y13, 32(R11)(DX*1)
	VMOVUPS Y14, 32(R11)(DX*2)
	VMOVUPS Y15, 32(R11)(R14*1)
	ADDQ $64, R11
	DECQ BX
	JNZ  avx2p4panel
	VZEROUPPER
	RET

// The one-token kernel over two panels at a time: two weight streams per core (the one-panel kernel's
// single stream leaves a core at about 12 GB/s on a Zen 2 VM, where the probe's four streams reach 16),
// the same steps for every row. Panel B is at R8 (SI + the panel's bytes); its float sums are Y14/Y15, so
// the mask and the ones come from memory.

DATA p2mask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA p2mask<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA p2mask<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA p2mask<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL p2mask<>(SB), RODATA|NOPTR, $32
DATA p2ones<>+0(SB)/8, $0x0001000100010001
DATA p2ones<>+8(SB)/8, $0x0001000100010001
DATA p2ones<>+16(SB)/8, $0x0001000100010001
DATA p2ones<>+24(SB)/8, $0x0001000100010001
GLOBL p2ones<>(SB), RODATA|NOPTR, $32

#define CHUNK2(nib, base, alo, ahi, FIRST) \
	VMOVDQU nib(base), Y10 \
	VPSRLW $4, Y10, Y13 \
	VPAND p2mask<>(SB), Y10, Y10 \
	VPAND p2mask<>(SB), Y13, Y13 \
	VPMADDUBSW alo, Y10, Y11 \
	FIRST \
	VPMADDUBSW ahi, Y13, Y11 \
	VPADDW Y11, Y12, Y12

#define START2 VMOVDQA Y11, Y12
#define ADD2 VPADDW Y11, Y12, Y12

#define HALF2(nib, sc, base, acc) \
	CHUNK2(nib, base, Y0, Y1, START2) \
	CHUNK2(nib+64, base, Y2, Y3, ADD2) \
	CHUNK2(nib+128, base, Y4, Y5, ADD2) \
	CHUNK2(nib+192, base, Y6, Y7, ADD2) \
	VPMADDWD p2ones<>(SB), Y12, Y12 \
	VCVTDQ2PS Y12, Y12 \
	VBROADCASTSS (R9), Y11 \
	VBROADCASTSS (R10), Y10 \
	VFMADD213PS Y10, Y11, Y12 \
	VCVTPH2PS sc(base), Y10 \
	VFMADD231PS Y10, Y12, acc

#define BLOCK2(nib, sc) \
	ACTS1 \
	HALF2(nib, sc, SI, Y8) \
	HALF2(nib+32, sc+16, SI, Y9) \
	HALF2(nib, sc, R8, Y14) \
	HALF2(nib+32, sc+16, R8, Y15) \
	ADDQ $34, DI \
	ADDQ R12, R9 \
	ADDQ R12, R10

// func gemvQ4_0PanelAVX2x1x2(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)
// count is even: count/2 pairs of panels.
TEXT ·gemvQ4_0PanelAVX2x1x2(SB), NOSPLIT, $0-104
	MOVQ panels+8(FP), SI
	MOVQ tabStride+56(FP), R12
	MOVQ out+80(FP), R11
	MOVQ count+16(FP), BX
	SHRQ $1, BX
	MOVQ nb+24(FP), R13
	IMULQ $288, R13 // a panel's bytes: 16 rows × 18 bytes a block
avx2p2panel:
	LEAQ (SI)(R13*1), R8
	MOVQ acts+32(FP), DI
	MOVQ tab+48(FP), R9
	MOVQ R9, R10
	ADDQ corrOff+64(FP), R10
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ nb+24(FP), CX
	SHRQ $1, CX
avx2p2pair:
	BLOCK2(64, 0)
	BLOCK2(320, 32)
	ADDQ $576, SI
	ADDQ $576, R8
	DECQ CX
	JNZ  avx2p2pair
	VMOVUPS Y8, (R11)
	VMOVUPS Y9, 32(R11)
	VMOVUPS Y14, 64(R11)
	VMOVUPS Y15, 96(R11)
	ADDQ $128, R11
	MOVQ R8, SI // the next pair starts after panel B
	DECQ BX
	JNZ  avx2p2panel
	VZEROUPPER
	RET
