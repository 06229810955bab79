package cuda_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu"
	"github.com/glmtool/glmtool/backend/cuda"
	"github.com/glmtool/glmtool/backend/cuda/cudatest"
	"github.com/glmtool/glmtool/backend/cuda/internal/dynlib"
	"github.com/glmtool/glmtool/tensor"
)

// pair runs the same operations on the CPU backend (the reference: its ops are tested against float64
// references in backend/cpu) and on the CUDA backend.
type pair struct {
	t      *testing.T
	cpu    backend.Backend
	gpu    *cuda.Backend
	cs, gs backend.Stream
	nextID backend.Buf
}

func newPair(t *testing.T) *pair {
	c, err := cpu.New(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g := cudatest.Backend(t)
	return &pair{t: t, cpu: c, gpu: g, cs: c.NewStream(), gs: g.NewStream()}
}

func randRows(r *rand.Rand, n, w int, scale float64) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, w)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64() * scale)
		}
	}
	return out
}

// matrix makes a weight of type typ from rows on b (quantized by tensor's reference quantizers).
func matrix(t *testing.T, b backend.Backend, name string, typ tensor.Type, rows [][]float32) backend.Matrix {
	t.Helper()
	rb, err := typ.RowBytes(int64(len(rows[0])))
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, int(rb)*len(rows))
	for i, r := range rows {
		if err := tensor.Quantize(typ, r, data[i*int(rb):(i+1)*int(rb)]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Matrix(backend.MatrixSource{Name: name, Type: typ, Rows: len(rows), Cols: len(rows[0]), Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// acts puts rows into a new buffer of each backend, through an F32 embedding table (Stream has no upload:
// a graph's activations start as embeddings).
func (p *pair) acts(rows [][]float32) (c, g backend.Acts) {
	p.t.Helper()
	id := p.nextID
	p.nextID++
	ids := make([]int32, len(rows))
	for i := range ids {
		ids[i] = int32(i)
	}
	c = p.cs.Acts(id, len(rows), len(rows[0]))
	g = p.gs.Acts(id, len(rows), len(rows[0]))
	p.cs.Embed(c, matrix(p.t, p.cpu, "in", tensor.F32, rows), ids)
	p.gs.Embed(g, matrix(p.t, p.gpu, "in", tensor.F32, rows), ids)
	return c, g
}

// empty returns a new buffer of each backend.
func (p *pair) empty(rows, width int) (c, g backend.Acts) {
	id := p.nextID
	p.nextID++
	return p.cs.Acts(id, rows, width), p.gs.Acts(id, rows, width)
}

func (p *pair) vector(v []float32) (c, g backend.Vector) {
	p.t.Helper()
	c, err := p.cpu.Vector(v)
	if err != nil {
		p.t.Fatal(err)
	}
	g, err = p.gpu.Vector(v)
	if err != nil {
		p.t.Fatal(err)
	}
	return c, g
}

// host copies a buffer back (the CPU's rows are copied too: Host's rows are only valid until the next op).
func host(t *testing.T, st backend.Stream, a backend.Acts) [][]float32 {
	t.Helper()
	rows, err := st.Host(a)
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]float32, len(rows))
	for i := range rows {
		out[i] = append([]float32(nil), rows[i]...)
	}
	return out
}

// same checks that the CUDA rows match the CPU's within tol·(1 + |cpu value|).
func (p *pair) same(label string, c, g backend.Acts, tol float64) {
	p.t.Helper()
	want, got := host(p.t, p.cs, c), host(p.t, p.gs, g)
	worst := 0.0
	for i := range want {
		for j := range want[i] {
			d := math.Abs(float64(got[i][j]-want[i][j])) / (1 + math.Abs(float64(want[i][j])))
			if !(d <= tol) { // NaN fails too
				p.t.Fatalf("%s: row %d col %d: cuda %g, cpu %g (relative error %.3g > %.3g)", label, i, j, got[i][j], want[i][j], d, tol)
			}
			worst = max(worst, d)
		}
	}
	p.t.Logf("%s: worst relative error %.3g (tolerance %.3g)", label, worst, tol)
}

// weightTypes are every type the CUDA backend computes on, with a row length each can hold that is not a
// multiple of the warp's 32 groups (so lanes fall idle) and, for the float types, not a multiple of 32.
var weightTypes = []struct {
	typ  tensor.Type
	cols int
}{
	{tensor.F32, 70}, {tensor.F16, 70}, {tensor.BF16, 70},
	{tensor.Q4_0, 96}, {tensor.Q4_1, 96}, {tensor.Q5_0, 96}, {tensor.Q5_1, 96}, {tensor.Q8_0, 1056},
	{tensor.Q4_K, 256}, {tensor.Q5_K, 512}, {tensor.Q6_K, 256},
}

// q8Types are the weight types whose products quantize activations to 8 bits (kernels/mmvq.cu).
var q8Types = map[tensor.Type]bool{tensor.Q4_0: true, tensor.Q8_0: true}

// TestMatMulEveryType: W·x + b on the device against a float64 product of the dequantized weights, for
// every weight type, 37 rows (not a multiple of the 4 rows of a block) and 1, 3, 6 and 11 tokens (not a
// multiple of the 4 or 8 tokens of a tile); tolerance 1e-5 of Σ|w·x| (float32 sums of a few hundred
// terms). Where the product quantizes activations (Q4_0, Q8_0), the reference takes x as tensor's Q8_0
// quantizer rounds it (the kernel's rounding must be ggml's, value for value); with FloatActivations the
// same types take x as it is. Embed must give the dequantized rows themselves (within float32 rounding of
// a fused multiply-add).
func TestMatMulEveryType(t *testing.T) {
	for _, floatActs := range []bool{false, true} {
		t.Run(fmt.Sprintf("float activations %v", floatActs), func(t *testing.T) {
			opt := cudatest.Options(t)
			opt.FloatActivations = floatActs
			g, err := cuda.New(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			c, err := cpu.New(1)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			testMatMul(t, &pair{t: t, cpu: c, gpu: g, cs: c.NewStream(), gs: g.NewStream()}, floatActs)
		})
	}
}

// q8 is x rounded as tensor's Q8_0 quantizer rounds it (x has whole blocks of 32).
func q8(t *testing.T, x []float32) []float32 {
	t.Helper()
	rb, _ := tensor.Q8_0.RowBytes(int64(len(x)))
	q := make([]byte, rb)
	out := make([]float32, len(x))
	if err := tensor.Quantize(tensor.Q8_0, x, q); err != nil {
		t.Fatal(err)
	}
	if err := tensor.Dequantize(tensor.Q8_0, q, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func testMatMul(t *testing.T, p *pair, floatActs bool) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, wt := range weightTypes {
		wrows := randRows(r, 37, wt.cols, 1)
		w := matrix(t, p.gpu, "w", wt.typ, wrows)
		deq := make([][]float32, len(wrows))
		rb, _ := wt.typ.RowBytes(int64(wt.cols))
		for i, row := range wrows {
			q := make([]byte, rb)
			_ = tensor.Quantize(wt.typ, row, q)
			deq[i] = make([]float32, wt.cols)
			if err := tensor.Dequantize(wt.typ, q, deq[i]); err != nil {
				t.Fatal(err)
			}
		}
		bias := randRows(r, 1, 37, 1)[0]
		_, gb := p.vector(bias)
		for _, ntok := range []int{1, 3, 6, 11} {
			x := randRows(r, ntok, wt.cols, 1)
			_, gx := p.acts(x)
			_, gy := p.empty(ntok, 37)
			p.gs.MatMul(gy, w, gx, gb, nil)
			got := host(t, p.gs, gy)
			for tk := range ntok {
				xr := x[tk]
				if q8Types[wt.typ] && !floatActs {
					xr = q8(t, xr)
				}
				for i := range 37 {
					var want, mag float64
					for j := range wt.cols {
						want += float64(deq[i][j]) * float64(xr[j])
						mag += math.Abs(float64(deq[i][j]) * float64(xr[j]))
					}
					want += float64(bias[i])
					if d := math.Abs(float64(got[tk][i]) - want); !(d <= 1e-5*mag+1e-6) {
						t.Fatalf("%s, %d tokens: y[%d][%d] = %g, want %g (|Δ| %.3g, Σ|w·x| %.3g)", wt.typ, ntok, tk, i, got[tk][i], want, d, mag)
					}
				}
			}
		}
		ids := []int32{36, 0, 17}
		_, ge := p.empty(len(ids), wt.cols)
		p.gs.Embed(ge, w, ids)
		got := host(t, p.gs, ge)
		for k, id := range ids {
			for j := range wt.cols {
				if d := math.Abs(float64(got[k][j] - deq[id][j])); d > 1e-6*math.Abs(float64(deq[id][j])) {
					t.Fatalf("%s: embedding of row %d, value %d: %g, want %g", wt.typ, id, j, got[k][j], deq[id][j])
				}
			}
		}
	}
}

// TestOpsMatchCPU: every other operation of the seam against the CPU backend, on awkward sizes.
func TestOpsMatchCPU(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(3, 4))
	const n, width = 5, 300 // 300: not a multiple of a norm block's 256 threads

	x := randRows(r, n, width, 2)
	w := randRows(r, 1, width, 1)[0]
	bv := randRows(r, 1, width, 1)[0]
	cw, gw := p.vector(w)
	cb, gbv := p.vector(bv)

	cx, gx := p.acts(x)
	cd, gd := p.empty(n, width)
	p.cs.RMSNorm(cd, cx, cw, 1e-5)
	p.gs.RMSNorm(gd, gx, gw, 1e-5)
	p.same("RMSNorm", cd, gd, 1e-5)
	p.cs.LayerNorm(cd, cx, cw, cb, 1e-5)
	p.gs.LayerNorm(gd, gx, gw, gbv, 1e-5)
	p.same("LayerNorm", cd, gd, 1e-5)
	p.cs.RMSNorm(cx, cx, cw, 1e-5) // in place
	p.gs.RMSNorm(gx, gx, gw, 1e-5)
	p.same("RMSNorm in place", cx, gx, 1e-5)

	cy, gy := p.acts(randRows(r, n, width, 1))
	p.cs.Add(cy, cx)
	p.gs.Add(gy, gx)
	p.same("Add", cy, gy, 1e-6)
	p.cs.ScaleAdd(cd, cx, 1.7, cy)
	p.gs.ScaleAdd(gd, gx, 1.7, gy)
	p.same("ScaleAdd", cd, gd, 1e-6)
	p.cs.GELU(cd, cy)
	p.gs.GELU(gd, gy)
	p.same("GELU", cd, gd, 1e-6)

	cu, gu := p.acts(randRows(r, n, 2*width, 2))
	p.cs.SwiGLU(cd, cu)
	p.gs.SwiGLU(gd, gu)
	p.same("SwiGLU", cd, gd, 1e-6)

	cl, gl := p.empty(3, width)
	cs, gs := p.acts(randRows(r, n, width, 1)) // the same rows on both sides: a copy is exact
	p.cs.CopyRows(cl, cs, []int{4, 1, 2})      // a gather: out of order, then a run of two
	p.gs.CopyRows(gl, gs, []int{4, 1, 2})
	p.same("CopyRows", cl, gl, 0)
}

// TestAttentionMatchesCPU: QKV split in both layouts, both RoPE modes (with position interpolation), and
// attention over F16 and F32 caches for two sequences in one batch with grouped-query heads, against the
// CPU backend. Head widths 32 and 40 (a warp's lanes each hold one or two values, some idle).
func TestAttentionMatchesCPU(t *testing.T) {
	cases := []struct {
		name           string
		heads, kv, hd  int
		layout         backend.QKVLayout
		rope           backend.Rope
		kvType         backend.KVType
		prefixVisible  bool
		firstRows, sec int
	}{
		{"grouped, interleaved RoPE, F16 cache", 4, 2, 32, backend.QKVGrouped, backend.Rope{Mode: backend.RopeInterleaved}, backend.KVF16, false, 5, 2},
		{"grouped, 32k interpolation, F32 cache", 6, 3, 40, backend.QKVGrouped, backend.Rope{Mode: backend.RopeInterleaved, PosScale: 16}, backend.KVF32, false, 3, 1},
		{"per head, ChatGLM-6B 2-D RoPE", 4, 4, 32, backend.QKVPerHead, backend.Rope{Mode: backend.RopeChatGLM1}, backend.KVF16, true, 6, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			r := rand.New(rand.NewPCG(5, 6))
			pairs := tc.hd / 4
			if tc.rope.Mode == backend.RopeInterleaved {
				pairs = tc.hd / 4 // partial RoPE: half the head rotates, as ChatGLM2/3
			}
			for i := range pairs {
				tc.rope.Theta = append(tc.rope.Theta, float32(math.Pow(10000, -2*float64(i)/float64(2*pairs))))
			}
			rows := tc.firstRows + tc.sec
			qw, kw := tc.heads*tc.hd, tc.kv*tc.hd
			qkv := randRows(r, rows, qw+2*kw, 1)
			cqkv, gqkv := p.acts(qkv)
			cq, gq := p.empty(rows, qw)
			ck, gk := p.empty(rows, kw)
			cv, gv := p.empty(rows, kw)
			p.cs.SplitQKV(cq, ck, cv, cqkv, tc.heads, tc.kv, tc.hd, tc.layout)
			p.gs.SplitQKV(gq, gk, gv, gqkv, tc.heads, tc.kv, tc.hd, tc.layout)
			p.same("SplitQKV q", cq, gq, 0)
			p.same("SplitQKV k", ck, gk, 0)
			p.same("SplitQKV v", cv, gv, 0)

			pos := make([]backend.Position, rows)
			for i := range pos {
				pos[i] = backend.Position{Pos: int32(7 + 3*i), Block: int32(i % 3)}
			}
			p.cs.RoPE(cq, tc.heads, tc.hd, &tc.rope, pos)
			p.gs.RoPE(gq, tc.heads, tc.hd, &tc.rope, pos)
			p.cs.RoPE(ck, tc.kv, tc.hd, &tc.rope, pos)
			p.gs.RoPE(gk, tc.kv, tc.hd, &tc.rope, pos)
			p.same("RoPE q", cq, gq, 1e-6)
			p.same("RoPE k", ck, gk, 1e-6)

			// Two sequences: the first starts at slot 2 of a cache whose slots 0-1 hold a stored prefix.
			const slots = 40
			mk := func(b backend.Backend) (backend.KVCache, backend.KVCache) {
				c1, err := b.NewKV(2, slots, kw, tc.kvType)
				if err != nil {
					t.Fatal(err)
				}
				c2, err := b.NewKV(2, slots, kw, tc.kvType)
				if err != nil {
					t.Fatal(err)
				}
				for s := range 2 {
					pk, pv := randRows(rand.New(rand.NewPCG(uint64(s), 9)), 2, kw, 1), randRows(rand.New(rand.NewPCG(uint64(s), 10)), 2, kw, 1)
					c1.Store(1, s, pk[0], pv[0])
				}
				return c1, c2
			}
			c1, c2 := mk(p.cpu)
			g1, g2 := mk(p.gpu)
			vis1, vis2 := make([]int, tc.firstRows), make([]int, tc.sec)
			for i := range vis1 {
				vis1[i] = 2 + i + 1
				if tc.prefixVisible {
					vis1[i] = 2 + tc.firstRows
				}
			}
			for i := range vis2 {
				vis2[i] = i + 1
			}
			cseqs := []backend.Seq{{Cache: c1, Rows: tc.firstRows, Slot: 2, Visible: vis1}, {Cache: c2, Rows: tc.sec, Slot: 0, Visible: vis2}}
			gseqs := []backend.Seq{{Cache: g1, Rows: tc.firstRows, Slot: 2, Visible: vis1}, {Cache: g2, Rows: tc.sec, Slot: 0, Visible: vis2}}
			co, gout := p.empty(rows, qw)
			p.cs.Attention(co, cq, ck, cv, 1, cseqs, tc.heads, tc.kv, tc.hd)
			p.gs.Attention(gout, gq, gk, gv, 1, gseqs, tc.heads, tc.kv, tc.hd)
			p.same("Attention", co, gout, 2e-5)
		})
	}
}

// TestFailuresReachHost: a bad operation is reported by the next Host, once, and the stream goes on.
func TestFailuresReachHost(t *testing.T) {
	b := cudatest.Backend(t)
	st := b.NewStream()
	w := matrix(t, b, "emb", tensor.F32, [][]float32{{1, 2}, {3, 4}})
	a := st.Acts(0, 1, 2)
	st.Embed(a, w, []int32{5})
	if _, err := st.Host(a); err == nil || !strings.Contains(err.Error(), "token id 5") {
		t.Fatalf("Host after a bad embedding: %v, want the token id named", err)
	}
	st.Embed(a, w, []int32{1})
	rows, err := st.Host(a)
	if err != nil || rows[0][0] != 3 || rows[0][1] != 4 {
		t.Fatalf("after the failure: %v, %v; want [[3 4]]", rows, err)
	}
}

// TestRefusals: what the CUDA backend does not take is refused with the reason.
func TestRefusals(t *testing.T) {
	b := cudatest.Backend(t)
	if _, err := b.NewKV(2, 8, 64, backend.KVQ8_0); err == nil || !strings.Contains(err.Error(), "f16 or f32") {
		t.Errorf("q8_0 KV cache: %v", err)
	}
	_, err := b.Matrix(backend.MatrixSource{Name: "x", Type: tensor.Q2_K, Rows: 1, Cols: 256, Data: make([]byte, 84)})
	if err == nil || !strings.Contains(err.Error(), "Q2_K") {
		t.Errorf("Q2_K matrix: %v", err)
	}
	_, err = b.Matrix(backend.MatrixSource{Name: "x", Type: tensor.Q4_0, Rows: 2, Cols: 32, Data: make([]byte, 18)})
	if err == nil || !strings.Contains(err.Error(), "18 bytes for 2 rows") {
		t.Errorf("short matrix: %v", err)
	}
}

// TestNoDriver: a missing driver library is one clear error that wraps ErrNoDevice.
func TestNoDriver(t *testing.T) {
	_, err := cuda.New(cuda.Options{Library: "/nonexistent/libcuda.so.1"})
	if err == nil || !strings.Contains(err.Error(), "no NVIDIA driver") {
		t.Fatalf("New with no driver: %v", err)
	}
	if !errorsIs(err, cuda.ErrNoDevice) {
		t.Errorf("%v does not wrap ErrNoDevice", err)
	}
}

// TestOutOfMemory: an allocation the device cannot hold is one error that says what needed how much, what
// was free, and what helps (the shim's memory is set small; on a real GPU the test skips).
func TestOutOfMemory(t *testing.T) {
	var setMemory func(total uint64)
	shimFunc(t, "shimSetMemory", &setMemory)
	b := cudatest.Backend(t)
	setMemory(1 << 20)
	defer setMemory(1 << 30)
	_, err := b.Matrix(backend.MatrixSource{Name: "blk.0.ffn_up.weight", Type: tensor.F32, Rows: 512, Cols: 1024, Data: make([]byte, 4*512*1024)})
	for _, want := range []string{"out of GPU memory", "tensor blk.0.ffn_up.weight needs 2.0 MiB", "of 1.0 MiB free", "--ctx", "CUDA_ERROR_OUT_OF_MEMORY"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a 2 MiB matrix on a 1 MiB device: %v; want %q in it", err, want)
		}
	}
}

// shimFunc binds a function of the CPU shim's test controls; on a real GPU the test skips.
func shimFunc(t *testing.T, name string, fptr any) {
	t.Helper()
	if cudatest.OnGPU() {
		t.Skipf("%s controls the CPU shim; not run on a real GPU", name)
	}
	lib, err := dynlib.Open(cudatest.Options(t).Library)
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.Bind(map[string]any{name: fptr}); err != nil {
		t.Fatal(err)
	}
}

// TestOldDriver: a driver that cannot load the embedded PTX's version is told apart from a missing GPU,
// with what to do.
func TestOldDriver(t *testing.T) {
	var setMax func(major, minor int32)
	shimFunc(t, "shimSetMaxPTX", &setMax)
	setMax(7, 0) // CUDA 11.0's PTX ISA; the embedded PTX is 7.8 (CUDA 11.8)
	defer setMax(10, 0)
	_, err := cuda.New(cudatest.Options(t))
	for _, want := range []string{"cannot load glmtool's kernels", "update the driver", "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New on an old driver: %v; want %q in it", err, want)
		}
	}
	if errorsIs(err, cuda.ErrNoDevice) {
		t.Errorf("an old driver is reported as no device: %v", err)
	}
}
