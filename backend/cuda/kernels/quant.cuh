// quant.cuh: ggml's block formats decoded on the device. Every quantized type has one function,
// load32_TYPE(row, g, out), that writes values [32g, 32g+32) of a row into out in float32, with the same
// float operations in the same order as tensor/'s Go dequantizers, so that a decoded row is bit-identical
// to the CPU's. The K-quants' 256-value super-blocks are read as eight groups of 32.
#pragma once
#include "common.cuh"

__device__ __forceinline__ void load32_q4_0(const u8 *row, int g, float *out) {
	const u8 *b = row + g * 18;
	float d = f16_to_f32(ld16(b));
	for (int j = 0; j < 16; j++) {
		out[j] = (float)((int)(b[2 + j] & 0xf) - 8) * d;
		out[j + 16] = (float)((int)(b[2 + j] >> 4) - 8) * d;
	}
}

__device__ __forceinline__ void load32_q4_1(const u8 *row, int g, float *out) {
	const u8 *b = row + g * 20;
	float d = f16_to_f32(ld16(b)), m = f16_to_f32(ld16(b + 2));
	for (int j = 0; j < 16; j++) {
		out[j] = (float)(b[4 + j] & 0xf) * d + m;
		out[j + 16] = (float)(b[4 + j] >> 4) * d + m;
	}
}

__device__ __forceinline__ u32 ld32(const u8 *p) {
	return (u32)p[0] | ((u32)p[1] << 8) | ((u32)p[2] << 16) | ((u32)p[3] << 24);
}

__device__ __forceinline__ void load32_q5_0(const u8 *row, int g, float *out) {
	const u8 *b = row + g * 22;
	float d = f16_to_f32(ld16(b));
	u32 qh = ld32(b + 2);
	for (int j = 0; j < 16; j++) {
		int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
		out[j] = (float)((int)((b[6 + j] & 0xf) | h0) - 16) * d;
		out[j + 16] = (float)((int)((b[6 + j] >> 4) | h1) - 16) * d;
	}
}

__device__ __forceinline__ void load32_q5_1(const u8 *row, int g, float *out) {
	const u8 *b = row + g * 24;
	float d = f16_to_f32(ld16(b)), m = f16_to_f32(ld16(b + 2));
	u32 qh = ld32(b + 4);
	for (int j = 0; j < 16; j++) {
		int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
		out[j] = (float)((b[8 + j] & 0xf) | h0) * d + m;
		out[j + 16] = (float)((b[8 + j] >> 4) | h1) * d + m;
	}
}

__device__ __forceinline__ void load32_q8_0(const u8 *row, int g, float *out) {
	const u8 *b = row + g * 34;
	float d = f16_to_f32(ld16(b));
	for (int j = 0; j < 32; j++)
		out[j] = (float)(i8)b[2 + j] * d;
}

// scale_min_k4 is sub-block j's 6-bit scale and min of a Q4_K/Q5_K block's 12 packed bytes.
__device__ __forceinline__ void scale_min_k4(int j, const u8 *q, int *sc, int *m) {
	if (j < 4) {
		*sc = q[j] & 63;
		*m = q[j + 4] & 63;
	} else {
		*sc = (q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4);
		*m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
	}
}

// In a Q4_K/Q5_K block, group g (sub-block g) is chunk g/2's low (g even) or high (g odd) nibbles.
__device__ __forceinline__ void load32_q4_k(const u8 *row, int g, float *out) {
	const u8 *b = row + (g / 8) * 144;
	int s = g % 8, c = s / 2, hi = s % 2;
	float d = f16_to_f32(ld16(b)), dmin = f16_to_f32(ld16(b + 2));
	int sc, mn;
	scale_min_k4(s, b + 4, &sc, &mn);
	float d1 = d * (float)sc, m1 = dmin * (float)mn;
	const u8 *q = b + 16 + 32 * c;
	for (int l = 0; l < 32; l++) {
		int v = hi ? (q[l] >> 4) : (q[l] & 0xf);
		out[l] = d1 * (float)v - m1;
	}
}

__device__ __forceinline__ void load32_q5_k(const u8 *row, int g, float *out) {
	const u8 *b = row + (g / 8) * 176;
	int s = g % 8, c = s / 2, hi = s % 2;
	float d = f16_to_f32(ld16(b)), dmin = f16_to_f32(ld16(b + 2));
	int sc, mn;
	scale_min_k4(s, b + 4, &sc, &mn);
	float d1 = d * (float)sc, m1 = dmin * (float)mn;
	const u8 *qh = b + 16, *ql = b + 48 + 32 * c;
	u8 bit = (u8)(1 << s); // u1 = 1<<2c for the low nibbles, u2 = 2<<2c for the high ones
	for (int l = 0; l < 32; l++) {
		int v = hi ? (ql[l] >> 4) : (ql[l] & 0xf);
		if (qh[l] & bit)
			v += 16;
		out[l] = d1 * (float)v - m1;
	}
}

// Q6_K: group g is half g/4 of the block, and within it the quarter g%4 (values l, l+32, l+64, l+96 of the
// dequantizer's loop), whose low bits sit in ql[l] or ql[l+32] and high bits at shift 2·(g%4) of qh[l].
__device__ __forceinline__ void load32_q6_k(const u8 *row, int g, float *out) {
	const u8 *b = row + (g / 8) * 210;
	int half = (g % 8) / 4, quarter = g % 4;
	float d = f16_to_f32(ld16(b + 208));
	const u8 *ql = b + 64 * half + (quarter & 1) * 32, *qh = b + 128 + 32 * half;
	const i8 *sc = (const i8 *)(b + 192 + 8 * half + 2 * quarter);
	int shift = 2 * quarter, nib = quarter >> 1;
	for (int l = 0; l < 32; l++) {
		int lo = nib ? (ql[l] >> 4) : (ql[l] & 0xf);
		int q = (lo | (((qh[l] >> shift) & 3) << 4)) - 32;
		out[l] = (d * (float)sc[l / 16]) * (float)q;
	}
}

// The float types decode element by element (their rows need not be a multiple of 32 long).
__device__ __forceinline__ float load1_f32(const u8 *row, int i) { return ((const float *)row)[i]; }
__device__ __forceinline__ float load1_f16(const u8 *row, int i) { return f16_to_f32(((const u16 *)row)[i]); }
__device__ __forceinline__ float load1_bf16(const u8 *row, int i) { return bf16_to_f32(((const u16 *)row)[i]); }
