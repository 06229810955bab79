// mmvq.cu: matrix products of Q4_0 and Q8_0 weights with activations quantized to 8 bits, summed in
// integers with dp4a (four int8 products a instruction, Pascal and newer): the weight bytes are read
// as they are stored and a 32-value block costs 8 (Q8_0) or 8 plus nibble masks (Q4_0) instructions
// instead of 32 float multiply-adds. Activations are quantized once per product as ggml's Q8_0 (d =
// max|x|/127 rounded to f16, q = round(x·127/max|x|)), so the GPU's rounding of activations is the CPU's.
//
// An activation block is struct { float d; float s; int q[8]; } (40 bytes): s = d·Σq, which Q4_0's offset
// of 8 needs (Σ (w-8)·q·d = d_w·(d·Σ w·q − 8·s)).
#include "common.cuh"

#define QX_INTS 10 // a block of 40 bytes as ints: d, s, then 8 ints of 4 quantized values

// quantize_q8: one warp per 32-value block of x (ntok rows of cols), lane i quantizing value i.
// Launch: block (32, 4), grid ceil(ntok·cols/32 / 4).
extern "C" __global__ void quantize_q8(const float *x, int *qx, int nblocks) {
	int b = blockIdx.x * blockDim.y + threadIdx.y, lane = threadIdx.x;
	if (b >= nblocks)
		return; // the whole warp
	float v = x[(long long)b * 32 + lane];
	float amax = warp_max(fabsf(v));
	float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
	int q = (int)roundf(v * id);
	float sum = warp_sum((float)q);
	int *blk = qx + (long long)b * QX_INTS;
	// Gather four lanes' bytes into one int: lane 4k+j contributes byte j of int k.
	int byte = (q & 0xff) << (8 * (lane % 4));
	byte |= __shfl_xor_sync(FULL_MASK, byte, 1);
	byte |= __shfl_xor_sync(FULL_MASK, byte, 2);
	float d16 = f16_to_f32(f32_to_f16(d)); // the scale as the CPU's Q8_0 stores it
	if (lane % 4 == 0)
		blk[2 + lane / 4] = byte;
	if (lane == 0) {
		blk[0] = __float_as_int(d16);
		blk[1] = __float_as_int(d16 * sum);
	}
}

// The weight row r's block g as ints (its bytes need only 2-byte alignment: two u16 loads an int).
__device__ __forceinline__ int ld_int2(const u8 *p) { return (int)((u32)ld16(p) | ((u32)ld16(p + 2) << 16)); }

// MMVQ defines matmul_NAME_q8: a warp per weight row, lanes over its blocks, up to MMVQ_TOKENS tokens.
// Launch: block (32, 4), grid (ceil(rows / 4), ceil(ntok / MMVQ_TOKENS)).
#define MMVQ_TOKENS 8
#define MMVQ(NAME, BLOCK_BYTES, DOT)                                                                   \
	extern "C" __global__ void matmul_##NAME##_q8(const u8 *w, int rowBytes, int rows, int cols,           \
	                                               const int *qx, const float *bias, float *y, int ntok) { \
		int r = blockIdx.x * 4 + threadIdx.y, lane = threadIdx.x;                                     \
		int t0 = blockIdx.y * MMVQ_TOKENS, nt = min(MMVQ_TOKENS, ntok - t0);                          \
		if (r >= rows)                                                                                \
			return;                                                                               \
		const u8 *row = w + (long long)r * rowBytes;                                                  \
		int nb = cols / 32;                                                                           \
		float acc[MMVQ_TOKENS];                                                                       \
		for (int t = 0; t < MMVQ_TOKENS; t++)                                                         \
			acc[t] = 0;                                                                           \
		for (int g = lane; g < nb; g += WARP) {                                                       \
			const u8 *b = row + (long long)g * BLOCK_BYTES;                                       \
			float dw = f16_to_f32(ld16(b));                                                       \
			for (int t = 0; t < nt; t++) {                                                        \
				const int *xb = qx + ((long long)(t0 + t) * nb + g) * QX_INTS;               \
				DOT                                                                           \
			}                                                                                     \
		}                                                                                             \
		store_row_sums(acc, nt, t0, y, rows, r, bias);                                                \
	}

// Q4_0: bytes 2..17 hold values j (low nibble) and j+16 (high nibble) of byte j.
MMVQ(q4_0, 18, {
	int sumi = 0;
	for (int k = 0; k < 4; k++) {
		int v = ld_int2(b + 2 + 4 * k);
		sumi = dp4a(v & 0x0f0f0f0f, xb[2 + k], sumi);
		sumi = dp4a((v >> 4) & 0x0f0f0f0f, xb[6 + k], sumi);
	}
	acc[t] += dw * (__int_as_float(xb[0]) * (float)sumi - 8.0f * __int_as_float(xb[1]));
})

// Q8_0: bytes 2..33 are the 32 values.
MMVQ(q8_0, 34, {
	int sumi = 0;
	for (int k = 0; k < 8; k++)
		sumi = dp4a(ld_int2(b + 2 + 4 * k), xb[2 + k], sumi);
	acc[t] += dw * __int_as_float(xb[0]) * (float)sumi;
})
