package cuda

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cuda/driver"
)

// acts is a batch of activation rows in device memory, rows × width float32, row-major.
type acts struct {
	p           driver.Ptr
	rows, width int
	capacity    int64 // bytes allocated at p
}

func (a *acts) Rows() int  { return a.rows }
func (a *acts) Width() int { return a.width }

func dev(a backend.Acts) *acts { return a.(*acts) }

// stream queues kernels on the device's default stream, so that they run in order; its activation
// buffers and the small per-call tables (token ids, positions, visible lengths) live in device memory.
type stream struct {
	b      *Backend
	bufs   []*acts
	ints   driver.Ptr // staging for the int32 tables of one operation
	intCap int64
	qx     *acts   // activations quantized for the dp4a products
	tab    []int32 // a host table (positions, visible lengths) on its way to ints
	thetas map[*backend.Rope]driver.Ptr
	host   []float32
	rows   [][]float32
}

var _ backend.Stream = (*stream)(nil)

// NewStream returns a stream on b's device.
func (b *Backend) NewStream() backend.Stream {
	return &stream{b: b, thetas: map[*backend.Rope]driver.Ptr{}}
}

// op makes the context current for one operation; done releases it.
func (s *stream) op() bool {
	if err := s.b.d.Enter(s.b.ctx); err != nil {
		s.b.fail(err)
		return false
	}
	return true
}

func (s *stream) done() { s.b.d.Leave() }

// Free frees the stream's device buffers.
func (s *stream) Free() {
	b := s.b
	if b.d == nil || b.d.Enter(b.ctx) != nil {
		return
	}
	defer b.d.Leave()
	for _, a := range s.bufs {
		b.free(a.p, &b.mem.Scratch)
	}
	for _, p := range s.thetas {
		b.free(p, &b.mem.Scratch)
	}
	b.free(s.ints, &b.mem.Scratch)
	if s.qx != nil {
		b.free(s.qx.p, &b.mem.Scratch)
	}
	s.bufs, s.thetas, s.ints, s.intCap, s.qx = nil, map[*backend.Rope]driver.Ptr{}, 0, 0, nil
}

// launch queues kernel name over grid × block with args, recording a failure.
func (s *stream) launch(name string, grid, block driver.Dim, args ...any) {
	f, ok := s.b.fns[name]
	if !ok {
		s.b.fail(fmt.Errorf("CUDA kernel %s is not loaded", name))
		return
	}
	s.b.fail(s.b.d.Launch(name, f, grid, block, args...))
}

// flat launches a one-thread-per-value kernel over n values.
func (s *stream) flat(name string, n int, args ...any) {
	if n > 0 {
		s.launch(name, driver.Dim{X: uint32((n + 255) / 256)}, driver.Dim{X: 256}, args...)
	}
}

// Acts returns buffer id sized rows × width, reallocating only when it is too small.
func (s *stream) Acts(id backend.Buf, rows, width int) backend.Acts {
	for int(id) >= len(s.bufs) {
		s.bufs = append(s.bufs, &acts{})
	}
	a := s.bufs[id]
	a.rows, a.width = rows, width
	need := int64(rows) * int64(width) * 4
	if need > a.capacity && s.op() {
		defer s.done()
		s.b.free(a.p, &s.b.mem.Scratch)
		p, err := s.b.alloc(need, &s.b.mem.Scratch, "activations")
		if err != nil {
			s.b.fail(err)
			a.p, a.capacity = 0, 0
			return a
		}
		a.p, a.capacity = p, need
	}
	return a
}

// ints32 copies v into the stream's int32 staging buffer and returns its device address.
func (s *stream) ints32(v []int32) driver.Ptr {
	need := int64(4 * len(v))
	if need > s.intCap {
		s.b.free(s.ints, &s.b.mem.Scratch)
		p, err := s.b.alloc(max(need, 4096), &s.b.mem.Scratch, "a staging buffer")
		if err != nil {
			s.b.fail(err)
			return 0
		}
		s.ints, s.intCap = p, max(need, 4096)
	}
	if len(v) > 0 {
		s.b.fail(s.b.d.CopyToDevice(s.ints, unsafe.Pointer(&v[0]), need))
	}
	return s.ints
}

// Embed decodes one table row per id into dst.
func (s *stream) Embed(dst backend.Acts, table backend.Matrix, ids []int32) {
	if !s.op() {
		return
	}
	defer s.done()
	w, d := table.(*matrix), dev(dst)
	for _, id := range ids {
		if id < 0 || int(id) >= w.rows {
			s.b.fail(fmt.Errorf("token id %d outside the embedding's %d rows", id, w.rows))
			return
		}
	}
	p := s.ints32(ids)
	s.launch(w.emName, driver.Dim{X: uint32(len(ids))}, driver.Dim{X: 128}, w.p, w.rowBytes, w.cols, p, d.p)
}

// The matrix kernels' geometry (kernels/matmul.cu's MM_WARPS and MM_TOKENS).
const (
	mmWarps  = 4
	mmTokens = 4
)

// MatMul queues dst = W·x (+ bias). Every row's sum is formed in the same order whatever the batch, so
// each of the parts gets what it gets alone without being told them.
func (s *stream) MatMul(dst backend.Acts, wm backend.Matrix, x backend.Acts, bias backend.Vector, _ []int) {
	if !s.op() {
		return
	}
	defer s.done()
	w, d, in := wm.(*matrix), dev(dst), dev(x)
	var bp driver.Ptr
	if bias != nil {
		bp = bias.(*vector).p
	}
	if w.q8Name != "" {
		qx := s.quantize(in)
		grid := driver.Dim{X: uint32((w.rows + mmWarps - 1) / mmWarps), Y: uint32((in.rows + mmvqTokens - 1) / mmvqTokens)}
		s.launch(w.q8Name, grid, driver.Dim{X: 32, Y: mmWarps}, w.p, w.rowBytes, w.rows, w.cols, qx, bp, d.p, in.rows)
		return
	}
	grid := driver.Dim{X: uint32((w.rows + mmWarps - 1) / mmWarps), Y: uint32((in.rows + mmTokens - 1) / mmTokens)}
	s.launch(w.mmName, grid, driver.Dim{X: 32, Y: mmWarps}, w.p, w.rowBytes, w.rows, w.cols, in.p, bp, d.p, in.rows)
}

// The dp4a products' geometry (kernels/mmvq.cu): tokens per block, and bytes of a quantized block of 32
// activations.
const (
	mmvqTokens  = 8
	qxBlockSize = 40
)

// quantize queues the quantization of x's rows to 8-bit blocks into the stream's buffer (a weight's
// columns are whole blocks of 32: the quantized types have no other rows).
func (s *stream) quantize(x *acts) driver.Ptr {
	blocks := x.rows * x.width / 32
	need := int64(blocks) * qxBlockSize
	if s.qx == nil {
		s.qx = &acts{}
	}
	if need > s.qx.capacity {
		s.b.free(s.qx.p, &s.b.mem.Scratch)
		p, err := s.b.alloc(need, &s.b.mem.Scratch, "quantized activations")
		if err != nil {
			s.b.fail(err)
			s.qx.p, s.qx.capacity = 0, 0
			return 0
		}
		s.qx.p, s.qx.capacity = p, need
	}
	s.launch("quantize_q8", driver.Dim{X: uint32((blocks + 3) / 4)}, driver.Dim{X: 32, Y: 4}, x.p, s.qx.p, blocks)
	return s.qx.p
}

// normThreads is the block size of the norm kernels.
const normThreads = 256

// RMSNorm queues dst = rmsnorm(x)·w.
func (s *stream) RMSNorm(dst, x backend.Acts, w backend.Vector, eps float32) {
	if !s.op() {
		return
	}
	defer s.done()
	in := dev(x)
	s.launch("rms_norm", driver.Dim{X: uint32(in.rows)}, driver.Dim{X: normThreads}, in.p, w.(*vector).p, dev(dst).p, in.width, eps)
}

// LayerNorm queues dst = layernorm(x)·w + b.
func (s *stream) LayerNorm(dst, x backend.Acts, w, bv backend.Vector, eps float32) {
	if !s.op() {
		return
	}
	defer s.done()
	in := dev(x)
	s.launch("layer_norm", driver.Dim{X: uint32(in.rows)}, driver.Dim{X: normThreads}, in.p, w.(*vector).p, bv.(*vector).p, dev(dst).p, in.width, eps)
}

// Add queues dst += x.
func (s *stream) Add(dst, x backend.Acts) {
	if !s.op() {
		return
	}
	defer s.done()
	d := dev(dst)
	s.flat("add", d.rows*d.width, d.p, dev(x).p, d.rows*d.width)
}

// ScaleAdd queues dst = alpha·x + y.
func (s *stream) ScaleAdd(dst, x backend.Acts, alpha float32, y backend.Acts) {
	if !s.op() {
		return
	}
	defer s.done()
	d := dev(dst)
	n := d.rows * d.width
	s.flat("scale_add", n, d.p, dev(x).p, alpha, dev(y).p, n)
}

// SwiGLU queues dst = silu(x[:, :w])·x[:, w:].
func (s *stream) SwiGLU(dst, x backend.Acts) {
	if !s.op() {
		return
	}
	defer s.done()
	d := dev(dst)
	s.flat("swiglu", d.rows*d.width, d.p, dev(x).p, d.rows, d.width)
}

// GELU queues dst = gelu_tanh(x).
func (s *stream) GELU(dst, x backend.Acts) {
	if !s.op() {
		return
	}
	defer s.done()
	d := dev(dst)
	s.flat("gelu", d.rows*d.width, d.p, dev(x).p, d.rows*d.width)
}

// SplitQKV queues the copy of each fused row into q, k and v.
func (s *stream) SplitQKV(q, k, v, qkv backend.Acts, heads, kvHeads, hd int, layout backend.QKVLayout) {
	if !s.op() {
		return
	}
	defer s.done()
	in := dev(qkv)
	perHead := 0
	if layout == backend.QKVPerHead {
		perHead = 1
	}
	s.flat("split_qkv", in.rows*in.width, dev(q).p, dev(k).p, dev(v).p, in.p, in.rows, heads, kvHeads, hd, perHead)
}

// theta returns r's inverse frequencies on the device, copied once per Rope.
func (s *stream) theta(r *backend.Rope) driver.Ptr {
	if p, ok := s.thetas[r]; ok {
		return p
	}
	p, err := s.b.alloc(int64(4*len(r.Theta)), &s.b.mem.Scratch, "RoPE frequencies")
	if err != nil {
		s.b.fail(err)
		return 0
	}
	if len(r.Theta) > 0 {
		s.b.fail(s.b.d.CopyToDevice(p, unsafe.Pointer(&r.Theta[0]), int64(4*len(r.Theta))))
	}
	s.thetas[r] = p
	return p
}

// RoPE queues the rotation of every head of x at its row's position.
func (s *stream) RoPE(x backend.Acts, heads, hd int, r *backend.Rope, pos []backend.Position) {
	if !s.op() {
		return
	}
	defer s.done()
	in := dev(x)
	mode, pairs := 0, len(r.Theta)
	if r.Mode == backend.RopeChatGLM1 {
		mode = 1
		if pairs != hd/4 {
			s.b.fail(fmt.Errorf("ChatGLM-6B RoPE: %d frequencies for heads of %d", pairs, hd))
			return
		}
		pairs *= 2 // both halves
	}
	th := s.theta(r)
	s.tab = s.tab[:0]
	for _, p := range pos {
		s.tab = append(s.tab, p.Pos, p.Block)
	}
	pp := s.ints32(s.tab)
	s.flat("rope", in.rows*heads*pairs, in.p, in.rows, heads, hd, th, len(r.Theta), mode, r.PosScale, pp)
}

// The attention kernel's limits (kernels/attention.cu).
const (
	attThreads = 128
	attMaxHD   = 256
)

// Attention queues, for each sequence, the store of its keys and values into its cache and its rows'
// attention over the visible slots.
func (s *stream) Attention(dst, q, k, v backend.Acts, l int, seqs []backend.Seq, heads, kvHeads, hd int) {
	if !s.op() {
		return
	}
	defer s.done()
	if hd > attMaxHD {
		s.b.fail(fmt.Errorf("heads of %d values: the CUDA attention takes at most %d", hd, attMaxHD))
		return
	}
	out, qa, ka, va := dev(dst), dev(q), dev(k), dev(v)
	kvw := kvHeads * hd
	scale := float32(1 / math.Sqrt(float64(hd)))
	off := 0
	for _, sq := range seqs {
		c := sq.Cache.(*kvCache)
		kc, vc := c.layer(l)
		f16 := 0
		if c.f16 {
			f16 = 1
		}
		if sq.Slot+sq.Rows > c.slots {
			s.b.fail(fmt.Errorf("attention: slots %d..%d outside a cache of %d", sq.Slot, sq.Slot+sq.Rows, c.slots))
			return
		}
		rowK := driver.Ptr(int64(off) * int64(kvw) * 4)
		s.flat("kv_store", sq.Rows*kvw, kc, vc, f16, kvw, sq.Slot, ka.p+rowK, va.p+rowK, sq.Rows)
		s.tab = s.tab[:0]
		for _, n := range sq.Visible[:sq.Rows] {
			s.tab = append(s.tab, int32(n))
		}
		vp := s.ints32(s.tab)
		rowQ := driver.Ptr(int64(off) * int64(heads*hd) * 4)
		s.launch("attention", driver.Dim{X: uint32(sq.Rows), Y: uint32(heads)}, driver.Dim{X: attThreads},
			out.p+rowQ, qa.p+rowQ, kc, vc, f16, kvw, hd, heads, heads/kvHeads, vp, scale)
		off += sq.Rows
	}
}

// CopyRows gathers src's rows into dst (one device copy per run of consecutive rows).
func (s *stream) CopyRows(dst, src backend.Acts, rows []int) {
	if !s.op() {
		return
	}
	defer s.done()
	d, in := dev(dst), dev(src)
	rowBytes := int64(in.width) * 4
	// One copy per run of consecutive source rows: a prompt's last row is one copy, a batch's rows one.
	for i := 0; i < d.rows; {
		j := i + 1
		for j < d.rows && rows[j] == rows[j-1]+1 {
			j++
		}
		s.b.fail(s.b.d.CopyDevice(d.p+driver.Ptr(int64(i)*rowBytes), in.p+driver.Ptr(int64(rows[i])*rowBytes), int64(j-i)*rowBytes))
		i = j
	}
}

// Host waits for the queued work, copies x's rows to the host and returns them with the first failure
// since the last Host.
func (s *stream) Host(x backend.Acts) ([][]float32, error) {
	a := dev(x)
	if s.op() {
		s.b.fail(s.b.d.Synchronize())
		n := a.rows * a.width
		if cap(s.host) < n {
			s.host = make([]float32, n)
		}
		s.host = s.host[:n]
		if n > 0 && s.b.err == nil {
			s.b.fail(s.b.d.CopyToHost(unsafe.Pointer(&s.host[0]), a.p, int64(4*n)))
		}
		s.done()
	}
	err := s.b.err
	s.b.err = nil
	if err != nil {
		return nil, err
	}
	if s.b.mem.FreeFirstEval == 0 && s.op() {
		s.b.mem.FreeFirstEval, _, _ = s.b.d.MemInfo()
		s.done()
	}
	s.rows = s.rows[:0]
	for i := range a.rows {
		s.rows = append(s.rows, s.host[i*a.width:(i+1)*a.width:(i+1)*a.width])
	}
	return s.rows, nil
}

// Upload sets dst's rows from the host (backend/split: activations arriving from the CPU).
func (s *stream) Upload(dst backend.Acts, rows [][]float32) error {
	a := dev(dst)
	if len(rows) != a.rows {
		return fmt.Errorf("upload of %d rows into a buffer of %d", len(rows), a.rows)
	}
	if !s.op() {
		return s.b.err
	}
	defer s.done()
	for i, r := range rows {
		if len(r) != a.width {
			return fmt.Errorf("upload of a row of %d values into a buffer %d wide", len(r), a.width)
		}
		if a.width > 0 {
			if err := s.b.d.CopyToDevice(a.p+driver.Ptr(int64(i)*int64(a.width)*4), unsafe.Pointer(&r[0]), int64(4*a.width)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Sync waits for the queued work and returns the first failure since the last Host or Sync.
func (s *stream) Sync() error {
	if s.op() {
		s.b.fail(s.b.d.Synchronize())
		s.done()
	}
	err := s.b.err
	s.b.err = nil
	return err
}
