//go:build amd64 && !noasm

#include "textflag.h"
#include "macros_amd64.h"

// AVX2 four-token Q4_0/Q8_0 · Q8_0 kernels for prompts (and batches of sequences) on CPUs without AVX-512
// VNNI: each block's weights are unpacked once (|w| for VPMADDUBSW) and meet four activation rows (ggml
// Q8_0 layout) with the VPSIGNB trick. Each token's block adds float32(Σ w·a per lane)·(dw·da) to its
// eight lanes, multiply then add, and the lanes are summed as the one-token kernels sum them, so every
// token gets the bits of dotQ4_0Q8_0AVX2 / dotQ8_0Q8_0AVX2 (and of their Go twins). The activation scales
// come as float32 (Q8Acts.scales), converted once per product instead of once per weight row.

DATA g4Low<>+0(SB)/1, $0x0f
GLOBL g4Low<>(SB), RODATA|NOPTR, $1
DATA g4Eight<>+0(SB)/1, $8
GLOBL g4Eight<>(SB), RODATA|NOPTR, $1
DATA g4Ones16<>+0(SB)/2, $1
GLOBL g4Ones16<>(SB), RODATA|NOPTR, $2

// One token's block at 0(r) with its scale at 0(s): acc += float(Σ w·a per lane) · (dw·da); Y0 = w,
// Y1 = |w|, Y2 = dw in every lane.
#define G4TOKEN(r, s, acc) \
	VMOVDQU 2(r), Y3 \
	VPSIGNB Y0, Y3, Y3 \
	VPMADDUBSW Y3, Y1, Y3 \
	VPMADDWD Y13, Y3, Y3 \
	VCVTDQ2PS Y3, Y3 \
	VBROADCASTSS 0(s), Y4 \
	VMULPS  Y4, Y2, Y4 \
	VMULPS  Y4, Y3, Y3 \
	VADDPS  Y3, acc, acc \
	ADDQ $34, r \
	ADDQ $4, s

#define G4Q4WEIGHTS \
	VMOVDQU 2(SI), X0 \
	VPSRLW  $4, X0, X1 \
	VINSERTI128 $1, X1, Y0, Y0 \
	VPAND   Y15, Y0, Y0 \
	VPSUBB  Y14, Y0, Y0

#define G4Q8WEIGHTS \
	VMOVDQU 2(SI), Y0

#define GEMV4AVX2(WEIGHTS, wstep) \
	MOVQ w+0(FP), SI \
	MOVQ a0+8(FP), R8 \
	MOVQ a1+16(FP), R9 \
	MOVQ a2+24(FP), R10 \
	MOVQ a3+32(FP), R11 \
	MOVQ s0+40(FP), R12 \
	MOVQ s1+48(FP), R13 \
	MOVQ s2+56(FP), R14 \
	MOVQ s3+64(FP), DI \
	MOVQ nb+72(FP), CX \
	VPBROADCASTB g4Low<>(SB), Y15 \
	VPBROADCASTB g4Eight<>(SB), Y14 \
	VPBROADCASTW g4Ones16<>(SB), Y13 \
	VXORPS Y8, Y8, Y8 \
	VXORPS Y9, Y9, Y9 \
	VXORPS Y10, Y10, Y10 \
	VXORPS Y11, Y11, Y11 \
loop: \
	WEIGHTS \
	VPSIGNB Y0, Y0, Y1 \
	MOVWLZX 0(SI), AX \
	VMOVD   AX, X2 \
	VCVTPH2PS X2, X2 \
	VBROADCASTSS X2, Y2 \
	G4TOKEN(R8, R12, Y8) \
	G4TOKEN(R9, R13, Y9) \
	G4TOKEN(R10, R14, Y10) \
	G4TOKEN(R11, DI, Y11) \
	ADDQ $wstep, SI \
	DECQ CX \
	JNZ  loop \
	MOVQ out+80(FP), DX \
	HSUMX(Y8, X8, X1) \
	HSUMX(Y9, X9, X1) \
	HSUMX(Y10, X10, X1) \
	HSUMX(Y11, X11, X1) \
	VMOVSS X8, 0(DX) \
	VMOVSS X9, 4(DX) \
	VMOVSS X10, 8(DX) \
	VMOVSS X11, 12(DX) \
	VZEROUPPER \
	RET

// func gemv4Q4_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)
TEXT ·gemv4Q4_0AVX2(SB), NOSPLIT, $0-88
	GEMV4AVX2(G4Q4WEIGHTS, 18)

// func gemv4Q8_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)
TEXT ·gemv4Q8_0AVX2(SB), NOSPLIT, $0-88
	GEMV4AVX2(G4Q8WEIGHTS, 34)
