//go:build !amd64 || noasm

package kernels

import (
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// Without assembly every kernel below is its Go twin, under the assembly's name and signature, so that
// every set runs here (Available): the production default is generic, and the tests hold each set's
// layouts and dispatch to the Go references in every build.

// cpuLevel is generic: there is no assembly to choose.
func cpuLevel() level { return generic }

// runnableLevel is every set: their kernels are the twins below.
func runnableLevel() level { return avx512AMX }

// Block dots of rows as stored against Q8_0 activation rows of nb blocks.

func dotQ4_0Q8_0AVX2(w, a *byte, nb int) float32 {
	return dotQ4_0Q8_0Go(unsafe.Slice(w, 18*nb), unsafe.Slice(a, 34*nb))
}

func dotQ8_0Q8_0AVX2(w, a *byte, nb int) float32 {
	return dotQ8_0Q8_0Go(unsafe.Slice(w, 34*nb), unsafe.Slice(a, 34*nb))
}

func dotQ4_1Q8_0AVX2(w, a *byte, nb int) float32 { return dotQ8_0File(tensor.Q4_1, w, a, nb) }
func dotQ5_0Q8_0AVX2(w, a *byte, nb int) float32 { return dotQ8_0File(tensor.Q5_0, w, a, nb) }
func dotQ5_1Q8_0AVX2(w, a *byte, nb int) float32 { return dotQ8_0File(tensor.Q5_1, w, a, nb) }

func dotQ8_0File(t tensor.Type, w, a *byte, nb int) float32 {
	return dotQ8_0FileGo(t, unsafe.Slice(w, repackLayouts[t].size*nb), unsafe.Slice(a, 34*nb))
}

// gemv4Q4_0AVX2 and gemv4Q8_0AVX2: each token's one-token dot (the kernels give each token exactly its
// bits; the float scales are the activations' own, so unused here).
func gemv4Q4_0AVX2(w, a0, a1, a2, a3 *byte, _, _, _, _ *float32, nb int, out *float32) {
	gemv4Go(dotQ4_0Q8_0Go, unsafe.Slice(w, nb*18), [4]*byte{a0, a1, a2, a3}, 34*nb, out)
}

func gemv4Q8_0AVX2(w, a0, a1, a2, a3 *byte, _, _, _, _ *float32, nb int, out *float32) {
	gemv4Go(dotQ8_0Q8_0Go, unsafe.Slice(w, nb*34), [4]*byte{a0, a1, a2, a3}, 34*nb, out)
}

func gemv4Q5_0AVX2(w, a0, a1, a2, a3 *byte, _, _, _, _ *float32, nb int, out *float32) {
	gemv4Go(func(w, a []byte) float32 { return dotQ5_0Q8_0AVX2(&w[0], &a[0], nb) }, unsafe.Slice(w, nb*22), [4]*byte{a0, a1, a2, a3}, 34*nb, out)
}

func gemv4Go(dot func(w, a []byte) float32, w []byte, acts [4]*byte, actBytes int, out *float32) {
	res := unsafe.Slice(out, 4)
	for t, a := range acts {
		res[t] = dot(w, unsafe.Slice(a, actBytes))
	}
}

// The VNNI pair kernels over rows as stored (layouts_go.go).

func gemv1Q4_0VNNI(w, act *byte, pairs int) float32 { return gemvPairs(tensor.Q4_0, w, act, pairs) }
func gemv1Q8_0VNNI(w, act *byte, pairs int) float32 { return gemvPairs(tensor.Q8_0, w, act, pairs) }

func gemv4Q4_0VNNI(w, act *byte, pairs, stride int, out *float32) {
	gemv4Pairs(tensor.Q4_0, w, act, pairs, stride, out)
}

func gemv4Q8_0VNNI(w, act *byte, pairs, stride int, out *float32) {
	gemv4Pairs(tensor.Q8_0, w, act, pairs, stride, out)
}

func gemvPairs(t tensor.Type, w, act *byte, pairs int) float32 {
	size := 18
	if t == tensor.Q8_0 {
		size = 34
	}
	return gemvPairsGo(t, unsafe.Slice(w, 2*pairs*size), unsafe.Slice(act, pairs*pairBytes), pairs)
}

func gemv4Pairs(t tensor.Type, w, act *byte, pairs, stride int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i := range res {
		res[i] = gemvPairs(t, w, (*byte)(unsafe.Add(unsafe.Pointer(act), i*stride)), pairs)
	}
}

// The VNNI kernels over repacked rows: scales is the row's start, weights its per-group part.

func gemv1Q4_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	return gemvRepacked(tensor.Q4_0, scales, weights, act, groups)
}
func gemv1Q4_1X4VNNI(scales, weights, act *byte, groups int) float32 {
	return gemvRepacked(tensor.Q4_1, scales, weights, act, groups)
}
func gemv1Q5_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	return gemvRepacked(tensor.Q5_0, scales, weights, act, groups)
}
func gemv1Q5_1X4VNNI(scales, weights, act *byte, groups int) float32 {
	return gemvRepacked(tensor.Q5_1, scales, weights, act, groups)
}
func gemv1Q8_0X4VNNI(scales, weights, act *byte, groups int) float32 {
	return gemvRepacked(tensor.Q8_0, scales, weights, act, groups)
}
func gemv4Q4_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	gemv4Repacked(tensor.Q4_0, scales, weights, act, groups, stride, out)
}
func gemv4Q4_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	gemv4Repacked(tensor.Q4_1, scales, weights, act, groups, stride, out)
}
func gemv4Q5_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	gemv4Repacked(tensor.Q5_0, scales, weights, act, groups, stride, out)
}
func gemv4Q5_1X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	gemv4Repacked(tensor.Q5_1, scales, weights, act, groups, stride, out)
}
func gemv4Q8_0X4VNNI(scales, weights, act *byte, groups, stride int, out *float32) {
	gemv4Repacked(tensor.Q8_0, scales, weights, act, groups, stride, out)
}

func gemvRepacked(t tensor.Type, scales, weights, act *byte, groups int) float32 {
	groupWeights := 64 // the 4- and 5-bit types' nibbles; Q8_0 keeps whole bytes
	if t == tensor.Q8_0 {
		groupWeights = 128
	}
	end := unsafe.Add(unsafe.Pointer(weights), groups*groupWeights)
	row := unsafe.Slice(scales, uintptr(end)-uintptr(unsafe.Pointer(scales)))
	return gemvRepackedGo(t, row, unsafe.Slice(act, groups*groupBytes), groups)
}

func gemv4Repacked(t tensor.Type, scales, weights, act *byte, groups, stride int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i := range res {
		res[i] = gemvRepacked(t, scales, weights, (*byte)(unsafe.Add(unsafe.Pointer(act), i*stride)), groups)
	}
}

// K-quant dots against Q8_K rows of nb super-blocks: the Go code, which the assembly matches bit for bit.

func dotQ4_KQ8_KAVX512(w, a *byte, nb int) float32 { return dotQ4_KQ8_KGo(kRows(w, a, 144, nb)) }
func dotQ5_KQ8_KAVX512(w, a *byte, nb int) float32 { return dotQ5_KQ8_KGo(kRows(w, a, 176, nb)) }
func dotQ6_KQ8_KAVX512(w, a *byte, nb int) float32 { return dotQ6_KQ8_KGo(kRows(w, a, 210, nb)) }
func dotQ4_KQ8_KAVX2(w, a *byte, nb int) float32   { return dotQ4_KQ8_KGo(kRows(w, a, 144, nb)) }
func dotQ5_KQ8_KAVX2(w, a *byte, nb int) float32   { return dotQ5_KQ8_KGo(kRows(w, a, 176, nb)) }
func dotQ6_KQ8_KAVX2(w, a *byte, nb int) float32   { return dotQ6_KQ8_KGo(kRows(w, a, 210, nb)) }

func kRows(w, a *byte, blockBytes, nb int) ([]byte, []byte) {
	return unsafe.Slice(w, blockBytes*nb), unsafe.Slice(a, 292*nb)
}

func dot4Q4_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, a := range [4]*byte{a0, a1, a2, a3} {
		res[i] = dotQ4_KQ8_KAVX512(w, a, nb)
	}
}

func dot4Q4_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, a := range [4]*byte{a0, a1, a2, a3} {
		res[i] = dotQ4_KQ8_KAVX2(w, a, nb)
	}
}

func dot4Q5_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, a := range [4]*byte{a0, a1, a2, a3} {
		res[i] = dotQ5_KQ8_KAVX2(w, a, nb)
	}
}

func dot4Q6_KQ8_KAVX2(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, a := range [4]*byte{a0, a1, a2, a3} {
		res[i] = dotQ6_KQ8_KAVX2(w, a, nb)
	}
}

func dot4Q6_KQ8_KAVX512(w, a0, a1, a2, a3 *byte, nb int, out *float32) {
	res := unsafe.Slice(out, 4)
	for i, a := range [4]*byte{a0, a1, a2, a3} {
		res[i] = dotQ6_KQ8_KAVX512(w, a, nb)
	}
}

// Float kernels: n a multiple of 16; the AVX2 and AVX-512 names share one Go twin each.

func dot1F16AVX512(w *byte, x *float32, n int) float32  { return dot1FloatGo(tensor.F16, w, x, n) }
func dot1BF16AVX512(w *byte, x *float32, n int) float32 { return dot1FloatGo(tensor.BF16, w, x, n) }
func dot1F32AVX512(w *byte, x *float32, n int) float32  { return dot1FloatGo(tensor.F32, w, x, n) }
func dot1F16AVX2(w *byte, x *float32, n int) float32    { return dot1FloatGo(tensor.F16, w, x, n) }
func dot1BF16AVX2(w *byte, x *float32, n int) float32   { return dot1FloatGo(tensor.BF16, w, x, n) }
func dot1F32AVX2(w *byte, x *float32, n int) float32    { return dot1FloatGo(tensor.F32, w, x, n) }

func dot4F16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.F16, w, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot4BF16AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.BF16, w, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot4F32AVX512(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.F32, w, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot4F16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.F16, w, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot4BF16AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.BF16, w, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot4F32AVX2(w *byte, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot4FloatGo(tensor.F32, w, [4]*float32{x0, x1, x2, x3}, n, out)
}

func dot44F16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot44FloatGo(tensor.F16, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot44BF16AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot44FloatGo(tensor.BF16, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot44F32AVX512(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot44FloatGo(tensor.F32, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}

func dot34F16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot34FloatGo(tensor.F16, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot34BF16AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot34FloatGo(tensor.BF16, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}
func dot34F32AVX2(w *byte, wstride int, x0, x1, x2, x3 *float32, n int, out *float32) {
	dot34FloatGo(tensor.F32, w, wstride, [4]*float32{x0, x1, x2, x3}, n, out)
}

func axpyAVX512(y *float32, a float32, x *float32, n int) { axpyGo(y, a, x, n) }
func axpyAVX2(y *float32, a float32, x *float32, n int)   { axpyGo(y, a, x, n) }

func axpyGo(y *float32, a float32, x *float32, n int) {
	ys, xs := unsafe.Slice(y, n), unsafe.Slice(x, n)
	for i := range ys {
		ys[i] += a * xs[i]
	}
}

// attnValues4F16AVX2 and attnValues4F16AVX512 are attnValues4F16Go over one block of keys (vstride in
// bytes; add ≠ 0 adds to out instead of setting it).
func attnValues4F16AVX2(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int) {
	s := unsafe.Slice(scores, 3*sstride+nk)
	v := unsafe.Slice((*uint16)(unsafe.Pointer(vals)), ((nk-1)*vstride)/2+hd)
	o := unsafe.Slice(out, 4*hd)
	if add == 0 {
		clear(o)
	}
	attnValues4F16Go(s, sstride, v, vstride/2, nk, hd, 4, o)
}

func attnValues4F16AVX512(scores *float32, sstride int, vals *byte, vstride, nk, hd int, out *float32, add int) {
	attnValues4F16AVX2(scores, sstride, vals, vstride, nk, hd, out, add)
}

// attnScores16F16AVX512 is attnScores16F16Go over blocks of sixteen keys.
func attnScores16F16AVX512(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32) {
	attnScores16F16Go(qt, keys, kstride, AttnGroup*nblocks, hd, out, sstride, stat)
}

// attnScores16F16AVX2 is attnScores16F16Go over blocks of four keys.
func attnScores16F16AVX2(qt *float32, keys *byte, kstride, nblocks, hd int, scratch *float32, out *float32, sstride int, stat *float32) {
	attnScores16F16Go(qt, keys, kstride, 4*nblocks, hd, out, sstride, stat)
}

// siluMul8AVX2 is siluMulLanes over the first n values.
func siluMul8AVX2(dst, gate, up *float32, n int) {
	siluMulGo(unsafe.Slice(dst, n), unsafe.Slice(gate, n), unsafe.Slice(up, n))
}

// expSum8AVX2 is expSumLanes over the first n values.
func expSum8AVX2(x *float32, n int, mx float32, acc *[8]float64) {
	expSumLanes(unsafe.Slice(x, n), 0, mx, acc)
}

// expSumAVX512 is expSumGo, which it matches bit for bit.
func expSumAVX512(x *float32, n int, mx float32) float64 { return expSumGo(unsafe.Slice(x, n), mx) }

// streamSum4AVX2 is streamSumGo over the four quarters.
func streamSum4AVX2(p *byte, quarter int) uint64 { return streamSumGo(unsafe.Slice(p, 4*quarter)) }

// The kernels over Q4_0 rows in panels (AMX for 16 tokens, VNNI for one and four): gemmPanelsGo, strides
// in bytes as the assembly takes them.

func gemmQ4_0AMX16(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(16, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, n)
}

func gemvQ4_0PanelVNNI1x2(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(1, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, n)
}

func gemvQ4_0PanelVNNI1(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(1, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, n)
}

func gemvQ4_0PanelVNNI4(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(4, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, n)
}

// The AVX2 panel kernels: the same arithmetic, one token and four.

func gemvQ4_0PanelAVX2x1(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(1, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, 1)
}

func gemvQ4_0PanelAVX2x1x2(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(1, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, 1)
}

func gemvQ4_0PanelAVX2x4(cfg, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, staging *byte, out *float32, outStride, n int) {
	gemmPanels(4, panels, count, nb, acts, actStride, tab, tabStride, corrOff, out, outStride, 4)
}

func gemmPanels(m int, panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride, corrOff int, out *float32, outStride, n int) {
	tabLen := (nb-1)*tabStride/4 + corrOff/4 + m
	gemmPanelsGo(m, unsafe.Slice(panels, count*nb*panelBlockBytes), count, nb, unsafe.Slice(acts, (m-1)*actStride+34*nb),
		actStride, unsafe.Slice(tab, tabLen), tabStride/4, corrOff/4, unsafe.Slice(out, (n-1)*outStride/4+PanelRows*count), outStride/4, n)
}

// The Q4_K panel kernels: each row taken out of its panel and dotted in Go.

func gemvQ4_KPanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int) {
	gemmKPanelsGo(panels, count, nb, acts, actStride, out, outStride, 4)
}

func gemvQ4_KPanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int) {
	gemmKPanelsGo(panels, count, nb, acts, actStride, out, outStride, 1)
}

func gemvQ4_KPanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride int) {
	gemmKPanelsGo(panels, count, nb, acts, actStride, out, outStride, 1)
}

// The Q8_0 panel kernels: gemmPanelsQ8Go, strides in bytes as the assembly takes them.

func gemvQ8_0PanelAVX2x4(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int) {
	gemmPanelsQ8(panels, count, nb, acts, actStride, tab, tabStride, out, outStride, 4)
}

func gemvQ8_0PanelAVX2x1(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int) {
	gemmPanelsQ8(panels, count, nb, acts, actStride, tab, tabStride, out, outStride, 1)
}

func gemvQ8_0PanelAVX2x1x2(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride int) {
	gemmPanelsQ8(panels, count, nb, acts, actStride, tab, tabStride, out, outStride, 1)
}

func gemmPanelsQ8(panels *byte, count, nb int, acts *byte, actStride int, tab *float32, tabStride int, out *float32, outStride, n int) {
	gemmPanelsQ8Go(unsafe.Slice(panels, count*nb*panelQ8BlockBytes), count, nb, unsafe.Slice(acts, (n-1)*actStride+34*nb), actStride,
		unsafe.Slice(tab, (nb-1)*tabStride/4+n), tabStride/4, unsafe.Slice(out, (n-1)*outStride/4+PanelRows*count), outStride/4, n)
}
