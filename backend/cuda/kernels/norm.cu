// norm.cu: RMSNorm and LayerNorm of activation rows, one block per row (a multiple of 32 threads).
#include "common.cuh"

// rms_norm: y = x / sqrt(mean(x²) + eps) · w. y may be x.
extern "C" __global__ void rms_norm(const float *x, const float *w, float *y, int n, float eps) {
	__shared__ float red[32];
	const float *xr = x + (long long)blockIdx.x * n;
	float *yr = y + (long long)blockIdx.x * n;
	float ss = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		ss += xr[i] * xr[i];
	ss = block_sum(ss, red);
	float scale = rsqrtf(ss / (float)n + eps);
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		yr[i] = xr[i] * scale * w[i];
}

// layer_norm: y = (x - mean) / sqrt(var + eps) · w + b, in two passes over the row. y may be x.
extern "C" __global__ void layer_norm(const float *x, const float *w, const float *b, float *y, int n, float eps) {
	__shared__ float red[32];
	const float *xr = x + (long long)blockIdx.x * n;
	float *yr = y + (long long)blockIdx.x * n;
	float s = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		s += xr[i];
	float mean = block_sum(s, red) / (float)n;
	float vs = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x) {
		float d = xr[i] - mean;
		vs += d * d;
	}
	float inv = rsqrtf(block_sum(vs, red) / (float)n + eps);
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
}
