package kernels

import "github.com/glmtool/glmtool/tensor"

// typeKernels is one weight type's entry in a set, as ggml-cpu's type_traits_cpu: the activation type
// its dots take (vec_dot_type), the block of columns they need, the one-token dot over activation rows in
// ggml's layout, the four-token dots where the set has them, and the kernels for rows repacked at load.
type typeKernels struct {
	vecDotType tensor.Type // Q8_0, Q8_K or F32 (float activations)
	blockCols  int         // 0: no kernel in this set
	// dot is one row against one activation row of vecDotType (nil for the float types: floatSet).
	dot func(w, a []byte) float32
	// dot4 is four activation rows in one pass (K-quants), bit for bit dot's results; nil: none. The rows
	// come by value: a pointer through a function value would move every caller's array to the heap.
	dot4 func(w []byte, a [4][]byte, out []float32)
	// dot4Scaled is the AVX2 four-token Q4_0/Q8_0/Q5_0 kernel over ggml-layout rows, which also reads the
	// activations' block scales as float32; nil: none.
	dot4Scaled func(w, a0, a1, a2, a3 *byte, s0, s1, s2, s3 *float32, nb int, out *float32)
	// pairs are the VNNI kernels over rows as stored (Q4_0, Q8_0) and packed activation pairs; nil: none.
	pairs *pairKernel
	// repacked is the VNNI kernels for rows that RepackRow rearranged; nil: no repacked form.
	repacked *repackedKernel
	// q8Exact: four tokens per call give each the one-token bits (rows as stored, repacked); the
	// batch of independent sequences may share such calls.
	q8Exact [2]bool
}

// pairKernel is the VNNI kernels for Q4_0/Q8_0 rows as stored, over packed pairs of activation blocks,
// with the Go block dot that adds an odd last block.
type pairKernel struct {
	gemv1 func(w, act *byte, pairs int) float32
	gemv4 func(w, act *byte, pairs, stride int, out *float32)
	tail  func(w, a []byte) float32
	block int // weight bytes per block
}

// typeTable is the per-type table of the set at level l.
func typeTable(l level) [typeSlots]typeKernels {
	var t [typeSlots]typeKernels
	// Q4_0 and Q8_0 rows: Q8_0 activations in every set; the four-token kernels give each token its
	// one-token bits except the VNNI pair kernels over rows as stored.
	exact := [2]bool{l < avx512VNNI, l >= avx512VNNI}
	t[tensor.Q4_0] = typeKernels{vecDotType: tensor.Q8_0, blockCols: 32, dot: dotQ4_0Q8_0Go, q8Exact: exact}
	t[tensor.Q8_0] = typeKernels{vecDotType: tensor.Q8_0, blockCols: 32, dot: dotQ8_0Q8_0Go, q8Exact: exact}
	if l >= avx2 {
		t[tensor.Q4_0].dot = blockDot(dotQ4_0Q8_0AVX2, 34)
		t[tensor.Q8_0].dot = blockDot(dotQ8_0Q8_0AVX2, 34)
		t[tensor.Q4_0].dot4Scaled = gemv4Q4_0AVX2
		t[tensor.Q8_0].dot4Scaled = gemv4Q8_0AVX2
		// Q4_1, Q5_0, Q5_1 rows as stored have one-token AVX2 dots against Q8_0 (none in Go: generic
		// decodes the rows); their four-token VNNI kernels exist for repacked rows only.
		for typ, dot := range map[tensor.Type]func(w, a *byte, nb int) float32{
			tensor.Q4_1: dotQ4_1Q8_0AVX2, tensor.Q5_0: dotQ5_0Q8_0AVX2, tensor.Q5_1: dotQ5_1Q8_0AVX2,
		} {
			t[typ] = typeKernels{vecDotType: tensor.Q8_0, blockCols: 32, dot: blockDot(dot, 34), q8Exact: exact}
		}
		t[tensor.Q5_0].dot4Scaled = gemv4Q5_0AVX2
	}
	if l >= avx512VNNI {
		t[tensor.Q4_0].pairs = &pairKernel{gemv1Q4_0VNNI, gemv4Q4_0VNNI, dotQ4_0Q8_0Go, 18}
		t[tensor.Q8_0].pairs = &pairKernel{gemv1Q8_0VNNI, gemv4Q8_0VNNI, dotQ8_0Q8_0Go, 34}
		for typ, k := range repackedKernels {
			t[typ].repacked = &k
			t[typ].vecDotType, t[typ].blockCols, t[typ].q8Exact = tensor.Q8_0, 32, exact
		}
	}
	// K-quants: Q8_K activations; the one- and four-token kernels are bit-identical to the Go code.
	t[tensor.Q4_K] = typeKernels{vecDotType: tensor.Q8_K, blockCols: tensor.QK_K, dot: dotQ4_KQ8_KGo, q8Exact: [2]bool{true, true}}
	t[tensor.Q5_K] = typeKernels{vecDotType: tensor.Q8_K, blockCols: tensor.QK_K, dot: dotQ5_KQ8_KGo, q8Exact: [2]bool{true, true}}
	t[tensor.Q6_K] = typeKernels{vecDotType: tensor.Q8_K, blockCols: tensor.QK_K, dot: dotQ6_KQ8_KGo, q8Exact: [2]bool{true, true}}
	switch {
	case l >= avx512:
		t[tensor.Q4_K].dot = blockDot(dotQ4_KQ8_KAVX512, 292)
		t[tensor.Q5_K].dot = blockDot(dotQ5_KQ8_KAVX512, 292)
		t[tensor.Q6_K].dot = blockDot(dotQ6_KQ8_KAVX512, 292)
		t[tensor.Q4_K].dot4 = blockDot4(dot4Q4_KQ8_KAVX512)
		t[tensor.Q6_K].dot4 = blockDot4(dot4Q6_KQ8_KAVX512)
	case l >= avx2:
		t[tensor.Q4_K].dot = blockDot(dotQ4_KQ8_KAVX2, 292)
		t[tensor.Q5_K].dot = blockDot(dotQ5_KQ8_KAVX2, 292)
		t[tensor.Q6_K].dot = blockDot(dotQ6_KQ8_KAVX2, 292)
		t[tensor.Q4_K].dot4 = blockDot4(dot4Q4_KQ8_KAVX2)
		t[tensor.Q5_K].dot4 = blockDot4(dot4Q5_KQ8_KAVX2)
		t[tensor.Q6_K].dot4 = blockDot4(dot4Q6_KQ8_KAVX2)
	}
	// Float rows: float activations, with kernels from AVX2 on (16 columns at a time); the four-token
	// kernels sum in another order than the one-token ones.
	if l >= avx2 {
		for _, typ := range []tensor.Type{tensor.F32, tensor.F16, tensor.BF16} {
			t[typ] = typeKernels{vecDotType: tensor.F32, blockCols: 1}
		}
	}
	return t
}

// blockDot adapts a kernel over nb blocks of the activation type (actBlock bytes each) to slices.
func blockDot(k func(w, a *byte, nb int) float32, actBlock int) func(w, a []byte) float32 {
	return func(w, a []byte) float32 {
		nb := len(a) / actBlock
		if nb == 0 {
			return 0
		}
		return k(&w[0], &a[0], nb)
	}
}

// blockDot4 adapts a four-token Q8_K kernel to slices.
func blockDot4(k func(w, a0, a1, a2, a3 *byte, nb int, out *float32)) func(w []byte, a [4][]byte, out []float32) {
	return func(w []byte, a [4][]byte, out []float32) {
		k(&w[0], &a[0][0], &a[1][0], &a[2][0], &a[3][0], len(a[0])/292, &out[0])
	}
}

// Traits is what a product with rows of one type needs from the set: the type its activations take, and
// whether four tokens per kernel call give every token the one-token result.
type Traits struct {
	// VecDotType is Q8_0 or Q8_K (activations quantized once per product) or F32 (used as they are).
	VecDotType tensor.Type
	// Kernel: the set has a dot for these rows; false: each row is decoded and dotted with DotF32.
	Kernel bool
	// RowsExact: the four-token calls give each token exactly the one-token call's bits, so that a
	// batch of independent sequences can share them without changing any sequence's result.
	RowsExact bool
}

// Traits looks up rows of cols values of type t, repacked by RepackRow or as stored.
func (s *Set) Traits(t tensor.Type, cols int, repacked bool) Traits {
	if int(t) >= len(s.traits) {
		return Traits{VecDotType: tensor.F32}
	}
	k := &s.traits[t]
	ok := k.blockCols > 0 && cols%k.blockCols == 0 && (!repacked || k.repacked != nil)
	if k.vecDotType == tensor.F32 {
		ok = ok && s.floats != nil && cols >= 16
	}
	if !ok {
		return Traits{VecDotType: tensor.F32}
	}
	r := 0
	if repacked {
		r = 1
	}
	return Traits{VecDotType: k.vecDotType, Kernel: true, RowsExact: k.q8Exact[r]}
}

// typeSlots covers every type id with a kernel (BF16 is the highest).
const typeSlots = tensor.BF16 + 1
