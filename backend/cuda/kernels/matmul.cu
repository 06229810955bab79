// matmul.cu: y[t][r] = W[r]·x[t] (+ bias[r]) and the embedding lookup, for every weight type, with the
// weights kept in their GGUF blocks. A warp owns a weight row; each lane decodes one 32-value group at a
// time and dots it with up to MM_TOKENS activation rows, so a weight byte is read once per MM_TOKENS
// tokens. The sum of a token's products is formed in the same order whatever the number of tokens, so a
// row's result does not depend on the batch it is in (backend.Stream.MatMul's rowExact).
//
// Launch: block (32, MM_WARPS), grid (ceil(rows / MM_WARPS), ceil(ntok / MM_TOKENS)).
#include "quant.cuh"

#define MM_WARPS 4
#define MM_TOKENS 4

// MATMUL_QUANT defines matmul_NAME for a type whose rows are 32-value groups decoded by load32_NAME.
#define MATMUL_QUANT(NAME)                                                                             \
	extern "C" __global__ void matmul_##NAME(const u8 *w, int rowBytes, int rows, int cols, const float *x, \
	                                         const float *bias, float *y, int ntok) {                      \
		int r = blockIdx.x * MM_WARPS + threadIdx.y, lane = threadIdx.x;                              \
		int t0 = blockIdx.y * MM_TOKENS, nt = min(MM_TOKENS, ntok - t0);                              \
		if (r >= rows)                                                                                \
			return; /* the whole warp leaves: no shuffle is left waiting */                           \
		const u8 *row = w + (long long)r * rowBytes;                                                  \
		float acc[MM_TOKENS] = {0, 0, 0, 0}, v[32];                                                   \
		for (int g = lane; g < cols / 32; g += WARP) {                                                \
			load32_##NAME(row, g, v);                                                             \
			for (int t = 0; t < nt; t++) {                                                        \
				const float *xt = x + (long long)(t0 + t) * cols + 32 * g;                   \
				float s = 0;                                                                  \
				for (int j = 0; j < 32; j++)                                                  \
					s += v[j] * xt[j];                                                    \
				acc[t] += s;                                                                  \
			}                                                                                     \
		}                                                                                             \
		store_row_sums(acc, nt, t0, y, rows, r, bias);                                                \
	}                                                                                                     \
	extern "C" __global__ void embed_##NAME(const u8 *w, int rowBytes, int cols, const int *ids, float *y) { \
		const u8 *row = w + (long long)ids[blockIdx.x] * rowBytes;                                   \
		float v[32];                                                                                  \
		for (int g = threadIdx.x; g < cols / 32; g += blockDim.x) {                                   \
			load32_##NAME(row, g, v);                                                             \
			for (int j = 0; j < 32; j++)                                                          \
				y[(long long)blockIdx.x * cols + 32 * g + j] = v[j];                          \
		}                                                                                             \
	}

// MATMUL_FLOAT defines matmul_NAME for a float type of any row length, element by element.
#define MATMUL_FLOAT(NAME)                                                                             \
	extern "C" __global__ void matmul_##NAME(const u8 *w, int rowBytes, int rows, int cols, const float *x, \
	                                         const float *bias, float *y, int ntok) {                      \
		int r = blockIdx.x * MM_WARPS + threadIdx.y, lane = threadIdx.x;                              \
		int t0 = blockIdx.y * MM_TOKENS, nt = min(MM_TOKENS, ntok - t0);                              \
		if (r >= rows)                                                                                \
			return;                                                                               \
		const u8 *row = w + (long long)r * rowBytes;                                                  \
		float acc[MM_TOKENS] = {0, 0, 0, 0};                                                          \
		for (int i = lane; i < cols; i += WARP) {                                                     \
			float v = load1_##NAME(row, i);                                                       \
			for (int t = 0; t < nt; t++)                                                          \
				acc[t] += v * x[(long long)(t0 + t) * cols + i];                              \
		}                                                                                             \
		store_row_sums(acc, nt, t0, y, rows, r, bias);                                                \
	}                                                                                                     \
	extern "C" __global__ void embed_##NAME(const u8 *w, int rowBytes, int cols, const int *ids, float *y) { \
		const u8 *row = w + (long long)ids[blockIdx.x] * rowBytes;                                   \
		for (int i = threadIdx.x; i < cols; i += blockDim.x)                                          \
			y[(long long)blockIdx.x * cols + i] = load1_##NAME(row, i);                           \
	}

MATMUL_QUANT(q4_0)
MATMUL_QUANT(q4_1)
MATMUL_QUANT(q5_0)
MATMUL_QUANT(q5_1)
MATMUL_QUANT(q8_0)
MATMUL_QUANT(q4_k)
MATMUL_QUANT(q5_k)
MATMUL_QUANT(q6_k)
MATMUL_FLOAT(f32)
MATMUL_FLOAT(f16)
MATMUL_FLOAT(bf16)
