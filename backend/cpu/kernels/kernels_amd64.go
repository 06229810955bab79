//go:build amd64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// Two kinds of kernels. Bit-identical to their Go twins: the AVX2 Q4_0/Q8_0 block dots (same float32
// steps, same order, no FMA) and every K-quant dot (exact integers, scalar float steps in the Go order).
// Exact in their integer parts and accumulating in float with FMA: the VNNI Q4_0…Q8_0 kernels, the AVX2
// Q4_1/Q5_0/Q5_1 dots and the float kernels; the conformance tests bound their difference from float64
// references. Build with -tags noasm, or set GLMTOOL_KERNELS=generic, to use the Go code alone.

// cpuLevel is the best set this CPU's features allow.
func cpuLevel() level {
	x := cpu.X86
	switch {
	case !x.HasAVX2 || !x.HasF16C || !x.HasFMA:
		return generic
	case !x.HasAVX512F || !x.HasAVX512BW || !x.HasAVX512VL:
		return avx2
	case !x.HasAVX512VNNI:
		return avx512
	case !x.HasAMXTile || !x.HasAMXInt8 || !amxPermitted():
		return avx512VNNI
	}
	return avx512AMX
}

// runnableLevel is the highest set the tests can run here: the assembly needs the CPU's features.
func runnableLevel() level { return cpuLevel() }

// dotQ4_0Q8_0AVX2 and dotQ8_0Q8_0AVX2 are the block dots of dot.go over nb blocks.
//
//go:noescape
func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32

// The VNNI kernels (q8acts.go) read packed activations; gemv4 writes four results, for the four activation
// rows that are stride bytes apart.
//
//go:noescape
func gemv1Q4_0VNNI(w, act *byte, pairs int) float32

//go:noescape
func gemv1Q8_0VNNI(w, act *byte, pairs int) float32

//go:noescape
func gemv4Q4_0VNNI(w, act *byte, pairs, stride int, out *float32)

//go:noescape
func gemv4Q8_0VNNI(w, act *byte, pairs, stride int, out *float32)

//go:noescape
func dotQ6_KQ8_KAVX512(w, a *byte, nb int) float32

// The repacked-row kernels (repack.go) take a row's scales and weights separately.
//
//go:noescape
func gemv1Q4_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv1Q8_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q4_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv4Q8_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

// Float kernels (float_avx512_amd64.s): n is a multiple of 16; dot4 writes four results.
//
//go:noescape
func dot1F16AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot1BF16AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot1F32AVX512(w *byte, x *float32, n int) float32

//go:noescape
func dot4F16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4BF16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4F32AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func axpyAVX512(y *float32, a float32, x *float32, n int)

//go:noescape
func dot44F16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot44BF16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot44F32AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot34F16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot34BF16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot34F32AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32)

// K-quant dots against Q8_K (q4_k_q5_k_avx512_amd64.s), bit-identical to dot_kquant.go.
//
//go:noescape
func dotQ4_KQ8_KAVX512(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX512(w, a *byte, nb int) float32

// AVX2 + FMA float kernels (float_avx2_amd64.s) for CPUs without AVX-512.
//
//go:noescape
func dot1F16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot1BF16AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot1F32AVX2(w *byte, x *float32, n int) float32

//go:noescape
func dot4F16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4BF16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func dot4F32AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32)

//go:noescape
func axpyAVX2(y *float32, a float32, x *float32, n int)

// attnValues4F16AVX2 is attnValues4F16Go for hd a multiple of 16 over one block of keys
// (float_avx2_amd64.s); vstride is in bytes; add ≠ 0 adds to out instead of setting it.
//
//go:noescape
func attnValues4F16AVX2(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)

// attnValues4F16AVX512 is attnValues4F16AVX2 with 512-bit registers, for hd a multiple of 32
// (float_avx512_amd64.s).
//
//go:noescape
func attnValues4F16AVX512(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int)

// attnScores16F16AVX512 is attnScores16F16Go over blocks of sixteen keys in 512-bit registers
// (attention_scores_avx512_amd64.s).
//
//go:noescape
func attnScores16F16AVX512(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32)

// attnScores16F16AVX2 is attnScores16F16AVX512 with blocks of four keys in 256-bit registers
// (attention_scores_avx2_amd64.s).
//
//go:noescape
func attnScores16F16AVX2(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32)

// siluMul8AVX2 is siluMulLanes from 0 over n, a multiple of 8, values, bit for bit.
//
//go:noescape
func siluMul8AVX2(dst, gate, up *float32, n int)

// expSum8AVX2 is expSumLanes from 0 over n, a multiple of 8, values, bit for bit
// (expsum_avx2_amd64.s).
//
//go:noescape
func expSum8AVX2(x *float32, n int, mx float32, acc *[8]float64)

// expSumAVX512 is expSumGo in 512-bit registers, bit for bit (float_avx512_amd64.s).
//
//go:noescape
func expSumAVX512(x *float32, n int, mx float32) float64

//go:noescape
func gemv1Q4_1X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q4_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv1Q5_0X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q5_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func gemv1Q5_1X4VNNI(scales, weights, act *byte, groups int) float32

//go:noescape
func gemv4Q5_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32)

//go:noescape
func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32

// AVX2 Q4_1/Q5_0/Q5_1·Q8_0 dots over nb blocks (q4_1_q5_avx2_amd64.s).
//
//go:noescape
func dotQ4_1Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32

//go:noescape
func dotQ5_1Q8_0AVX2(w, a *byte, nb int) float32

// AVX2 four-token Q4_0/Q8_0 kernels over nb blocks (gemv4_q4_0_q8_0_avx2_amd64.s): activation rows a0…a3
// in ggml's Q8_0 layout and their block scales s0…s3 as float32; each token gets the one-token kernel's
// bits.
//
//go:noescape
func gemv4Q4_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)

//go:noescape
func gemv4Q8_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)

// gemv4Q5_0AVX2 is the same for Q5_0 rows (q4_1_q5_avx2_amd64.s), with dotQ5_0Q8_0AVX2's bits.
//
//go:noescape
func gemv4Q5_0AVX2(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)

// dot4Q6_KQ8_KAVX512 is dotQ6_KQ8_KAVX512 for four activation rows at once.
//
//go:noescape
func dot4Q6_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// dot4Q4_KQ8_KAVX512 is dotQ4_KQ8_KAVX512 for four activation rows at once.
//
//go:noescape
func dot4Q4_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// dot4Q4_KQ8_KAVX2 is dotQ4_KQ8_KAVX2 for four activation rows at once.
//
//go:noescape
func dot4Q4_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// dot4Q5_KQ8_KAVX2 is dotQ5_KQ8_KAVX2 for four activation rows at once.
//
//go:noescape
func dot4Q5_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// dot4Q6_KQ8_KAVX2 is dotQ6_KQ8_KAVX2 for four activation rows at once.
//
//go:noescape
func dot4Q6_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32)

// streamSum4AVX2 sums four streams of quarter bytes each, starting quarter apart (stream.go).
//
//go:noescape
func streamSum4AVX2(p *byte, quarter int) uint64

// The kernels over Q4_0 rows in panels (q4_0_panels_amd64.s, panels.go): AMX for up to 16 tokens,
// AVX-512 VNNI for one and for up to four.
//
//go:noescape
func gemmQ4_0AMX16(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

//go:noescape
func gemvQ4_0PanelVNNI1x2(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

//go:noescape
func gemvQ4_0PanelVNNI1(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

//go:noescape
func gemvQ4_0PanelVNNI4(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

// The AVX2 kernels over Q4_0 rows in panels (q4_0_panels_avx2_amd64.s): one token, and four.
//
//go:noescape
func gemvQ4_0PanelAVX2x1(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

//go:noescape
func gemvQ4_0PanelAVX2x4(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

// The AVX2 kernels over Q4_K rows in panels of 8 (q4_k_panels_avx2_amd64.s, kpanels.go): four tokens,
// and one.
//
//go:noescape
func gemvQ4_KPanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)

//go:noescape
func gemvQ4_KPanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)

// The AVX2 kernels over Q8_0 rows in panels of 16 (q8_0_panels_avx2_amd64.s): four tokens, and one.
//
//go:noescape
func gemvQ8_0PanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)

//go:noescape
func gemvQ8_0PanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)

// gemvQ4_0PanelAVX2x1x2 is gemvQ4_0PanelAVX2x1 over pairs of panels, two weight streams at a time
// (count even).
//
//go:noescape
func gemvQ4_0PanelAVX2x1x2(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int)

// gemvQ4_KPanelAVX2x1x2 is gemvQ4_KPanelAVX2x1 over pairs of panels, two weight streams at a time
// (count even).
//
//go:noescape
func gemvQ4_KPanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int)

// gemvQ8_0PanelAVX2x1x2 is gemvQ8_0PanelAVX2x1 over pairs of panels, two weight streams at a time
// (count even).
//
//go:noescape
func gemvQ8_0PanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int)
