// cuda_shim.h: enough of the CUDA C dialect, in plain C++20, to run glmtool's kernels on the CPU, so that
// indexing, reduction and layout bugs show up in CI, where no GPU is. A launch runs its blocks one after
// another; each CUDA thread of a block is a fiber (its own stack, switched cooperatively on one OS thread,
// which makes a run deterministic and fast enough for real vocabulary sizes), __syncthreads is a barrier
// over the block's live threads, and a warp shuffle is an exchange through the warp's slots between two
// barriers of its live lanes. As on a GPU, every lane of a warp must reach each shuffle and every thread
// each __syncthreads; a launch where some cannot (a deadlock) fails instead of hanging.
#pragma once
#define GLM_SHIM 1

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static // one block runs at a time: a static is the block's shared memory

struct dim3 {
	unsigned x = 1, y = 1, z = 1;
};

// The launch's geometry and the running fiber's place in it (set by the driver shim's scheduler).
extern dim3 gridDim, blockDim, threadIdx, blockIdx;

// shim_block_sync and shim_warp_exchange are the driver shim's barriers.
void shim_block_sync();
uint64_t shim_warp_exchange(uint64_t mine, int src_lane);

inline void __syncthreads() { shim_block_sync(); }

template <class T> inline T __shfl_xor_sync(unsigned, T v, int lane_mask);

extern int shim_lane;

template <class T> inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
	static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
	uint64_t bits = 0;
	std::memcpy(&bits, &v, sizeof v);
	bits = shim_warp_exchange(bits, shim_lane ^ lane_mask);
	T r;
	std::memcpy(&r, &bits, sizeof r);
	return r;
}

using std::max;
using std::min;

inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __int_as_float(int i) {
	float f;
	std::memcpy(&f, &i, 4);
	return f;
}
inline int __float_as_int(float f) {
	int i;
	std::memcpy(&i, &f, 4);
	return i;
}
inline float __uint_as_float(unsigned u) {
	float f;
	std::memcpy(&f, &u, 4);
	return f;
}

// __dp4a: the dot product of four signed bytes of a and b, plus c.
inline int __dp4a(int a, int b, int c) {
	for (int i = 0; i < 4; i++)
		c += (int)(int8_t)(a >> (8 * i)) * (int)(int8_t)(b >> (8 * i));
	return c;
}

// Half precision through the compiler's _Float16 (IEEE binary16, round to nearest even, as cvt.rn).
inline float shim_f16_to_f32(uint16_t h) {
	_Float16 v;
	std::memcpy(&v, &h, 2);
	return (float)v;
}
inline uint16_t shim_f32_to_f16(float f) {
	_Float16 v = (_Float16)f;
	uint16_t h;
	std::memcpy(&h, &v, 2);
	return h;
}
