// Package backend is the compute seam between the model description and the machines that evaluate it.
// The graphs in infer (one file per architecture) are written against Stream: matrix products with bias,
// norms, both RoPE variants, attention over a KV cache the backend owns, activations and residual adds,
// all over a batch of rows that may belong to several sequences. Activations live where the backend keeps
// them (Acts is a handle, not a slice), so a GPU backend evaluates a whole step without a host round trip
// per op; only Host brings rows back, and a graph calls it once, for the logits.
//
// backend/cpu implements it over the SIMD kernels of tensor/; backend/cuda over CUDA kernels, with the
// weights, activations and KV cache in GPU memory.
package backend

import "github.com/glmtool/glmtool/tensor"

// Backend owns a model's weights, its KV caches and the workers that compute on them.
type Backend interface {
	// Name is what bench and -v report ("cpu").
	Name() string
	// Matrix takes a weight matrix of the model (y = W·x, one output per row, as PyTorch's Linear).
	Matrix(src MatrixSource) (Matrix, error)
	// Vector takes a norm weight or a bias.
	Vector(v []float32) (Vector, error)
	// Commit is called once every matrix is loaded: a backend copies them where it computes on them (the
	// CPU backend onto huge pages, repacked for its kernels, when resident is set; a GPU into its memory).
	Commit(resident bool) error
	// NewKV allocates a KV cache of slots positions of width values (KV heads × head width) for layers.
	NewKV(layers, slots, width int, typ KVType) (KVCache, error)
	// NewStream returns a queue of operations with its own activation buffers. The streams of one backend
	// take turns: the caller runs one stream's operations at a time (infer.Model's lock), and Free
	// releases its buffers (a GPU's memory is not garbage-collected).
	NewStream() Stream
	// Threads is the number of CPU workers the backend uses.
	Threads() int
	// Close releases the workers and any copy of the weights.
	Close() error
}

// MatrixSource describes a weight matrix as the file holds it.
type MatrixSource struct {
	Name       string
	Type       tensor.Type
	Rows, Cols int
	// Data is the file's bytes of the matrix (a view of the file mapping; touching it reads the file).
	Data []byte
	// Read copies bytes [off, off+len(dst)) of the matrix with pread, so that a copy need not fault in the
	// mapping page by page; Release gives the mapping's pages back once the matrix is copied. Either may
	// be nil, when the matrix is kept as Data.
	Read    func(off int64, dst []byte) error
	Release func()
	// Lookup marks a matrix read a row at a time (the token embedding): a backend leaves it where it is.
	Lookup bool
}

// Matrix is a weight matrix held by a backend, in its GGUF type.
type Matrix interface {
	Name() string
	Type() tensor.Type
	Rows() int
	Cols() int
}

// Vector is a norm weight or a bias held by a backend.
type Vector interface{ Len() int }

// Acts is a batch of activation rows held by a backend: Rows() rows of Width() values.
type Acts interface {
	Rows() int
	Width() int
}

// Buf names one of a stream's activation buffers; a graph numbers its own. A buffer keeps its memory
// between steps and grows to the largest batch seen, so that steady decoding allocates nothing.
type Buf int

// DeviceMemory is implemented by a backend that computes in device memory (a GPU): the bytes it holds
// there (weights, KV caches, scratch), and the device's free and total memory now, as the driver reports
// them. VRAM figures come from here: measured, not estimated.
type DeviceMemory interface {
	DeviceMemory() VRAM
}

// VRAM is a device backend's memory: what it holds (by its own allocation totals), and the device's free
// memory as the driver reported it at three moments and now.
type VRAM struct {
	Held, Peak           int64 // now, and the most at once
	Weights, KV, Scratch int64 // what Held is made of
	// FreeAtStart is before any weight was loaded, FreeLoaded after the weights, FreeFirstEval after the
	// first evaluation (0 until then).
	FreeAtStart, FreeLoaded, FreeFirstEval uint64
	Free, Total                            uint64
}

// BandwidthProber is implemented by a device backend that can measure its memory's bandwidth (a GPU:
// device-to-device copies), which bench's roofline share of a generation test is taken against.
type BandwidthProber interface {
	// MeasureBandwidth copies a buffer of size bytes on the device a few times and returns bytes moved
	// (read and written) per second.
	MeasureBandwidth(size int64) (float64, error)
}

// KVType is the element type of a KV cache.
type KVType int

// KV cache types: F16 halves the memory (llama.cpp's default); F32 keeps results exact; Q8_0 and Q4_0
// (ggml's blocks of 32 values along a key or value row, as llama.cpp's -ctk/-ctv q8_0) take 1.06 and 0.56
// bytes a value. The quantized types need a head width that is a multiple of 32.
const (
	KVF16 KVType = iota
	KVF32
	KVQ8_0
	KVQ4_0
)

// String is the type's name as --kv-type spells it.
func (t KVType) String() string {
	switch t {
	case KVF32:
		return "f32"
	case KVQ8_0:
		return "q8_0"
	case KVQ4_0:
		return "q4_0"
	}
	return "f16"
}

// KVCache holds, for each layer, a key and a value vector per slot.
type KVCache interface {
	Slots() int
	// Store writes one slot's key and value from the host (a P-tuning prefix).
	Store(layer, slot int, k, v []float32)
	// Free releases the cache's memory; it is not used after.
	Free()
}

// QKVLayout is how a fused QKV product lays out its columns.
type QKVLayout int

const (
	// QKVGrouped: all query heads, then all key heads, then all value heads (ChatGLM2/3, GLM-4).
	QKVGrouped QKVLayout = iota
	// QKVPerHead: [q | k | v] for each head in turn (ChatGLM-6B; spec §2.4).
	QKVPerHead
)

// RopeMode is how rotary embedding pairs a head's dimensions.
type RopeMode int

const (
	// RopeInterleaved rotates pairs (2i, 2i+1) of the first 2·len(Theta) dimensions by Pos·Theta[i]
	// (GGML's normal mode; ChatGLM2/3, GLM-4 and its successors); the rest pass through.
	RopeInterleaved RopeMode = iota
	// RopeChatGLM1 is ChatGLM-6B's 2-D RoPE: the first half of the head rotates by Pos, the second by
	// Block, each half as GPT-NeoX pairs (j, j+d/4) (spec §3.3).
	RopeChatGLM1
)

// Rope is a rotary embedding: the mode, the inverse frequency of each rotated pair, and PosScale, which
// divides positions (linear interpolation, chatglm2-6b-32k) when above 1.
type Rope struct {
	Mode     RopeMode
	Theta    []float32
	PosScale float32
}

// Position is a row's position (and ChatGLM-6B's block position).
type Position struct{ Pos, Block int32 }

// Seq is one sequence's consecutive rows of a batch in an attention call: their keys and values go into
// Cache from Slot on, and row i attends to the slots [0, Visible[i]).
type Seq struct {
	Cache   KVCache
	Rows    int
	Slot    int
	Visible []int
}

// Stream evaluates operations on activation rows. Every operation works on all rows of its arguments.
// dst may be one of the inputs where an operation says so.
type Stream interface {
	// Acts returns buffer b sized rows × width (its earlier contents are not kept).
	Acts(b Buf, rows, width int) Acts
	// Embed sets row i of dst to row ids[i] of table.
	Embed(dst Acts, table Matrix, ids []int32)
	// MatMul sets dst[t][r] = W[r]·x[t] (+ bias[r]); bias may be nil. parts, when not nil, cuts x's rows
	// into runs (their lengths, in order, summing to the rows) that must each get exactly the bits a
	// product of that run alone gives: a batch of several sequences' rows, whose outputs must not depend
	// on the batch.
	MatMul(dst Acts, w Matrix, x Acts, bias Vector, parts []int)
	// RMSNorm: dst = x / sqrt(mean(x²) + eps) · w (dst may be x).
	RMSNorm(dst, x Acts, w Vector, eps float32)
	// LayerNorm: dst = (x - mean) / sqrt(var + eps) · w + b (dst may be x).
	LayerNorm(dst, x Acts, w, b Vector, eps float32)
	// Add: dst += x.
	Add(dst, x Acts)
	// ScaleAdd: dst = alpha·x + y (dst may be y).
	ScaleAdd(dst, x Acts, alpha float32, y Acts)
	// SwiGLU: dst = silu(x[:, :w]) · x[:, w:], w = dst.Width().
	SwiGLU(dst, x Acts)
	// GELU: dst = gelu_tanh(x).
	GELU(dst, x Acts)
	// SplitQKV copies a fused QKV product into q (heads × hd wide), k and v (kvHeads × hd wide).
	SplitQKV(q, k, v, qkv Acts, heads, kvHeads, hd int, layout QKVLayout)
	// RoPE rotates each of the heads (hd wide) of every row of x in place at the row's position.
	RoPE(x Acts, heads, hd int, r *Rope, pos []Position)
	// Attention stores k and v in each sequence's cache and sets dst (heads × hd wide) to the attention of
	// q over the visible slots, softmax(q·k/√hd)·v, query head h reading KV head h/(heads/kvHeads).
	Attention(dst, q, k, v Acts, layer int, seqs []Seq, heads, kvHeads, hd int)
	// CopyRows sets dst's row i to src's row rows[i], for each of dst's rows.
	CopyRows(dst, src Acts, rows []int)
	// Free releases the stream's buffers; the stream is not used after.
	Free()
	// Host returns x's rows in host memory, valid until the stream's next operation. It is where a
	// device backend waits for its queued work, so it reports the first failure of any operation since
	// the last Host (the operations themselves return nothing: they are queued, not run).
	Host(x Acts) ([][]float32, error)
}
