// common.cuh: the types, half-precision conversions and warp reductions every kernel uses. The same source
// compiles with NVRTC for the GPU and with g++ through ../shim/cuda_shim.h (GLM_SHIM) for the CPU tests,
// so device-only intrinsics sit behind GLM_SHIM with a plain C++ twin.
#pragma once

typedef unsigned char u8;
typedef signed char i8;
typedef unsigned short u16;
typedef unsigned int u32;

// NVRTC has no <math.h>: INFINITY comes from the bits (the shim's g++ build has it already).
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

#define WARP 32
#define FULL_MASK 0xffffffffu

// ld16 reads a little-endian u16 from a byte address that need only be byte aligned (a block's scale).
__device__ __forceinline__ u16 ld16(const u8 *p) { return (u16)(p[0] | (p[1] << 8)); }

// f16_to_f32 and f32_to_f16 are IEEE binary16 conversions, round to nearest even (as ggml's).
__device__ __forceinline__ float f16_to_f32(u16 h) {
#ifdef GLM_SHIM
	return shim_f16_to_f32(h);
#else
	float f;
	asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
	return f;
#endif
}

__device__ __forceinline__ u16 f32_to_f16(float f) {
#ifdef GLM_SHIM
	return shim_f32_to_f16(f);
#else
	u16 h;
	asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
	return h;
#endif
}

// dp4a: the dot product of the four signed bytes of a and b, plus c (sm_61's dp4a instruction; NVRTC
// does not declare the __dp4a intrinsic, so it is written in PTX).
__device__ __forceinline__ int dp4a(int a, int b, int c) {
#ifdef GLM_SHIM
	return __dp4a(a, b, c);
#else
	int r;
	asm("dp4a.s32.s32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c));
	return r;
#endif
}

// bf16_to_f32: bfloat16 is the top half of a float32.
__device__ __forceinline__ float bf16_to_f32(u16 b) { return __uint_as_float((u32)b << 16); }

// warp_sum returns the sum of v over the warp's 32 lanes, in every lane. Every lane must call it.
__device__ __forceinline__ float warp_sum(float v) {
	for (int m = 16; m > 0; m >>= 1)
		v += __shfl_xor_sync(FULL_MASK, v, m);
	return v;
}

// warp_max returns the maximum of v over the warp, in every lane.
__device__ __forceinline__ float warp_max(float v) {
	for (int m = 16; m > 0; m >>= 1)
		v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, m));
	return v;
}

// block_sum returns the sum of v over a block of up to 1024 threads, a multiple of 32, in every thread.
// red is __shared__ float[32] of the caller; the block synchronises twice.
__device__ __forceinline__ float block_sum(float v, float *red) {
	int lane = threadIdx.x % WARP, w = threadIdx.x / WARP, nw = blockDim.x / WARP;
	v = warp_sum(v);
	if (lane == 0)
		red[w] = v;
	__syncthreads();
	float t = lane < nw ? red[lane] : 0.0f;
	t = warp_sum(t);
	__syncthreads(); // red is reused by the caller's next reduction
	return t;
}

// store_row_sums finishes a warp's products of weight row r with tokens t0 .. t0+nt-1: each lane's partial
// sums are added over the warp and lane 0 writes y[t][r] (+ bias[r]). nt must be the same in every lane
// (it is a block's), so that no lane skips a shuffle.
__device__ __forceinline__ void store_row_sums(const float *acc, int nt, int t0, float *y, int rows, int r,
                                               const float *bias) {
	for (int t = 0; t < nt; t++) {
		float s = warp_sum(acc[t]);
		if (threadIdx.x % WARP == 0)
			y[(long long)(t0 + t) * rows + r] = s + (bias ? bias[r] : 0.0f);
	}
}
