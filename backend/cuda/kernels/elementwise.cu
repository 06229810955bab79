// elementwise.cu: residual adds, activations, the QKV split and rotary embedding. One thread per output
// value (per rotated pair for RoPE); launch with 256 threads and enough blocks to cover n.
#include "common.cuh"

__device__ __forceinline__ long long thread_index() { return (long long)blockIdx.x * blockDim.x + threadIdx.x; }

// add: dst += x over n values.
extern "C" __global__ void add(float *dst, const float *x, int n) {
	long long i = thread_index();
	if (i < n)
		dst[i] += x[i];
}

// scale_add: dst = alpha·x + y (dst may be y).
extern "C" __global__ void scale_add(float *dst, const float *x, float alpha, const float *y, int n) {
	long long i = thread_index();
	if (i < n)
		dst[i] = x[i] * alpha + y[i];
}

// swiglu: dst[r][j] = silu(x[r][j]) · x[r][w + j] for rows of w outputs (x rows are 2w wide).
extern "C" __global__ void swiglu(float *dst, const float *x, int rows, int w) {
	long long i = thread_index();
	if (i >= (long long)rows * w)
		return;
	long long r = i / w, j = i % w;
	float g = x[r * 2 * w + j];
	dst[i] = g / (1.0f + expf(-g)) * x[r * 2 * w + w + j];
}

// gelu: the tanh approximation ChatGLM-6B uses.
extern "C" __global__ void gelu(float *dst, const float *x, int n) {
	long long i = thread_index();
	if (i < n) {
		float v = x[i];
		dst[i] = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
	}
}

// split_qkv copies each fused row into q (heads·hd wide), k and v (kvHeads·hd wide): grouped (all query
// heads, then key heads, then value heads) or, with perHead, [q | k | v] per head (ChatGLM-6B).
extern "C" __global__ void split_qkv(float *q, float *k, float *v, const float *qkv, int rows, int heads,
                                     int kvHeads, int hd, int perHead) {
	long long i = thread_index();
	int qw = heads * hd, kw = kvHeads * hd, width = qw + 2 * kw;
	if (i >= (long long)rows * width)
		return;
	long long r = i / width;
	int c = (int)(i % width);
	float val = qkv[i];
	if (perHead) {
		int h = c / (3 * hd), part = (c % (3 * hd)) / hd, e = c % hd;
		float *dst = part == 0 ? q : part == 1 ? k : v;
		dst[r * qw + h * hd + e] = val; // perHead models have kvHeads == heads
	} else if (c < qw) {
		q[r * qw + c] = val;
	} else if (c < qw + kw) {
		k[r * kw + c - qw] = val;
	} else {
		v[r * kw + c - qw - kw] = val;
	}
}

// rope rotates pairs of every head in place. pos holds (position, block position) per row. mode 0
// (interleaved) rotates pairs (2j, 2j+1) for j < npairs by pos/posScale·theta[j]; mode 1 (ChatGLM-6B's
// 2-D RoPE) rotates pairs (j, j+hd/4) of the first half-head by the position and of the second by the
// block position. The angle's product is float32 and its sine and cosine double, as the CPU's.
extern "C" __global__ void rope(float *x, int rows, int heads, int hd, const float *theta, int npairs,
                                int mode, float posScale, const int *pos) {
	long long i = thread_index();
	if (i >= (long long)rows * heads * npairs * (mode == 1 ? 2 : 1))
		return;
	if (mode == 1) {
		int half = hd / 2, quarter = hd / 4; // npairs == hd/4 pairs per half
		int j = (int)(i % quarter), part = (int)((i / quarter) % 2);
		long long rh = i / (2 * quarter);
		long long r = rh / heads;
		float *head = x + rh * hd + part * half;
		float p = (float)pos[2 * r + part];
		double ang = (double)(p * theta[j]);
		float c = (float)cos(ang), s = (float)sin(ang);
		float a = head[j], b = head[j + quarter];
		head[j] = a * c - b * s;
		head[j + quarter] = b * c + a * s;
		return;
	}
	int j = (int)(i % npairs);
	long long rh = i / npairs, r = rh / heads;
	double fp = (double)pos[2 * r];
	if (posScale > 1)
		fp /= (double)posScale;
	double ang = (double)((float)fp * theta[j]);
	float c = (float)cos(ang), s = (float)sin(ang);
	float *head = x + rh * hd;
	float a = head[2 * j], b = head[2 * j + 1];
	head[2 * j] = a * c - b * s;
	head[2 * j + 1] = b * c + a * s;
}
