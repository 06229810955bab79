// attention.cu: the KV cache writes and attention over it. A cache layer holds slots × width keys (and as
// many values), width = KV heads × head width, in F16 or F32.
#include "common.cuh"

#define ATT_WARPS 4
#define ATT_MAX_HD 256

__device__ __forceinline__ float kv_load(const void *c, int f16, long long i) {
	return f16 ? f16_to_f32(((const u16 *)c)[i]) : ((const float *)c)[i];
}

// kv_store writes rows of keys and values (width wide) into slots slot0, slot0+1, ... of one layer.
extern "C" __global__ void kv_store(void *kc, void *vc, int f16, int width, int slot0, const float *k,
                                    const float *v, int rows) {
	long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
	if (i >= (long long)rows * width)
		return;
	long long d = (long long)slot0 * width + i;
	if (f16) {
		((u16 *)kc)[d] = f32_to_f16(k[i]);
		((u16 *)vc)[d] = f32_to_f16(v[i]);
	} else {
		((float *)kc)[d] = k[i];
		((float *)vc)[d] = v[i];
	}
}

// attention sets out[r][h] = softmax(q[r][h]·K/√hd)·V over slots [0, visible[r]) of KV head h/group.
// Block (r, h) of ATT_WARPS warps: each warp takes every ATT_WARPS-th key with a running maximum and sum
// (online softmax, so no score buffer grows with the context), then the warps' partial results are
// combined. hd ≤ ATT_MAX_HD; lane e holds dimensions e, e+32, ...
extern "C" __global__ void attention(float *out, const float *q, const void *kc, const void *vc, int f16,
                                     int width, int hd, int heads, int group, const int *visible, float scale) {
	__shared__ float sm[ATT_WARPS], sl[ATT_WARPS], sacc[ATT_WARPS][ATT_MAX_HD];
	int r = blockIdx.x, h = blockIdx.y, g = h / group;
	int lane = threadIdx.x % WARP, w = threadIdx.x / WARP;
	const float *qh = q + ((long long)r * heads + h) * hd;
	float qv[ATT_MAX_HD / WARP], acc[ATT_MAX_HD / WARP];
	for (int j = 0; j < ATT_MAX_HD / WARP; j++) {
		int e = lane + WARP * j;
		qv[j] = e < hd ? qh[e] : 0.0f;
		acc[j] = 0;
	}
	float m = -INFINITY, l = 0;
	int nk = visible[r];
	for (int k = w; k < nk; k += ATT_WARPS) {
		long long off = (long long)k * width + (long long)g * hd;
		float s = 0;
		for (int j = 0; j < ATT_MAX_HD / WARP; j++) {
			int e = lane + WARP * j;
			if (e < hd)
				s += qv[j] * kv_load(kc, f16, off + e);
		}
		s = warp_sum(s) * scale;
		float mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
		l = l * corr + p;
		for (int j = 0; j < ATT_MAX_HD / WARP; j++) {
			int e = lane + WARP * j;
			if (e < hd)
				acc[j] = acc[j] * corr + p * kv_load(vc, f16, off + e);
		}
		m = mn;
	}
	if (lane == 0) {
		sm[w] = m;
		sl[w] = l;
	}
	for (int j = 0; j < ATT_MAX_HD / WARP; j++) {
		int e = lane + WARP * j;
		if (e < hd)
			sacc[w][e] = acc[j];
	}
	__syncthreads();
	float mx = -INFINITY;
	for (int i = 0; i < ATT_WARPS; i++)
		mx = fmaxf(mx, sm[i]);
	float den = 0, f[ATT_WARPS];
	for (int i = 0; i < ATT_WARPS; i++) {
		f[i] = sm[i] == -INFINITY ? 0.0f : expf(sm[i] - mx); // a warp that saw no key adds nothing
		den += sl[i] * f[i];
	}
	float *o = out + ((long long)r * heads + h) * hd;
	for (int e = threadIdx.x; e < hd; e += blockDim.x) {
		float num = 0;
		for (int i = 0; i < ATT_WARPS; i++)
			num += sacc[i][e] * f[i];
		o[e] = num / den;
	}
}
