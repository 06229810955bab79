package infer

import (
	"fmt"
	"math"
	"sync"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
	"github.com/glmtool/glmtool/tokenizer"
)

// Model is a loaded GGUF model: hyper-parameters, weights (held by the backend) and, when the file has
// one, the tokenizer. It is read-only after Load; Sessions hold the per-conversation state.
type Model struct {
	File   *gguf.File
	Params arch.Params
	Tok    *tokenizer.Tokenizer // nil for files without a vocabulary
	Stops  []int32

	be    backend.Backend
	graph graph // the architecture's forward pass (graph_*.go)
	rope  backend.Rope

	tokEmbd  backend.Matrix
	output   backend.Matrix
	outNorm  backend.Vector
	outNormB backend.Vector
	layers   []layer
	// prefixK, prefixV: a P-Tuning v2 prefix, per layer Params.PrefixLen keys and values of KVDim (nil:
	// none); every session starts with them in its cache.
	prefixK, prefixV [][]float32

	byName       map[string]backend.Matrix    // the model's matrices by tensor name (for adapters)
	adapters     map[backend.Matrix][]adapter // LoRA adapters applied at run time, by the weight they adapt
	adapterFiles []*gguf.File

	// mu makes evaluation steps of different sessions take turns: the backend's workers belong to the
	// model. Go's mutex hands over in FIFO order once waiters starve, so concurrent sessions interleave
	// token by token.
	mu sync.Mutex
}

// layer is one block's weights; a graph uses those of its architecture (nil where it has none).
type layer struct {
	attnNorm, attnNormB backend.Vector
	qkv                 backend.Matrix
	qkvB                backend.Vector
	attnOut             backend.Matrix
	attnOutB            backend.Vector
	ffnNorm, ffnNormB   backend.Vector
	up                  backend.Matrix
	upB                 backend.Vector
	down                backend.Matrix
	downB               backend.Vector
	postAttnNorm        backend.Vector // glm4's sandwich norms
	postFFNNorm         backend.Vector
}

// Options configure Load.
type Options struct {
	Threads int // 0: the number of CPUs
	// Resident copies the weight matrices into anonymous memory on huge pages at load time instead of
	// reading them from the file mapping (see backend/cpu), where they fit in the available memory.
	Resident bool
	// Backend computes the model; nil is the CPU backend with Threads workers. The model closes it.
	Backend backend.Backend
	// LoRA adapters to apply at run time.
	LoRA []LoRA
}

// Load opens path and checks that it holds a complete model of a supported architecture.
func Load(path string, opt Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := FromFile(f, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}

// FromFile builds a model from an open GGUF file.
func FromFile(f *gguf.File, opt Options) (*Model, error) {
	p, err := arch.ReadParams(f)
	if err != nil {
		return nil, err
	}
	m := &Model{File: f, Params: p, graph: graphFor(p)}
	if f.Meta.Has(arch.KeyTokens) {
		if m.Tok, err = tokenizer.FromMetadata(f.Meta, p.Family); err != nil {
			return nil, err
		}
	}
	if stops, err := f.Meta.Int32s(arch.KeyStopTokens); err == nil {
		m.Stops = stops
	} else if eos, err := f.Meta.Int(arch.KeyEOS); err == nil {
		m.Stops = []int32{int32(eos)}
	}
	if m.Tok != nil && len(m.Stops) == 0 {
		m.Stops = tokenizer.StopIDs(m.Tok, nil)
	}
	m.be = opt.Backend
	if m.be == nil {
		be, err := cpu.New(opt.Threads)
		if err != nil {
			return nil, err
		}
		m.be = be
	}
	m.rope = m.graph.rope(p)
	if err := m.loadWeights(); err != nil {
		m.be.Close()
		return nil, err
	}
	if err := m.loadAdapters(opt.LoRA); err != nil {
		m.closeAdapters()
		m.be.Close()
		return nil, err
	}
	if err := m.be.Commit(opt.Resident); err != nil {
		m.closeAdapters()
		m.be.Close()
		return nil, err
	}
	return m, nil
}

// Close releases the backend (its workers and any copy of the weights) and the file.
func (m *Model) Close() error {
	err := m.be.Close()
	m.closeAdapters()
	if ferr := m.File.Close(); err == nil {
		err = ferr
	}
	return err
}

// Threads is the number of worker threads.
func (m *Model) Threads() int { return m.be.Threads() }

// Backend names the backend that computes the model.
func (m *Model) Backend() string { return m.be.Name() }

// VRAM is the device memory of the model's backend (backend.VRAM: what it holds, weights, KV caches
// and scratch, now and at most, and the device's free memory before and after loading, after the first
// evaluation and now); ok is false for a backend in host memory.
func (m *Model) VRAM() (v backend.VRAM, ok bool) {
	dm, ok := m.be.(backend.DeviceMemory)
	if !ok {
		return backend.VRAM{}, false
	}
	return dm.DeviceMemory(), true
}

// loadWeights finds every tensor of the architecture's registry (arch.Params.Tensors: names and shapes) in
// the file, checks its shape, and files it where the graph looks for it.
func (m *Model) loadWeights() error {
	f := m.File
	m.layers = make([]layer, m.Params.Blocks)
	for _, spec := range m.Params.Tensors() {
		if _, ok := f.Tensor(spec.Name); !ok && spec.Optional {
			continue
		}
		if spec.Role == arch.RolePrefixKV {
			if err := m.loadPrefix(spec); err != nil {
				return err
			}
			continue
		}
		if len(spec.Shape) == 2 {
			w, err := m.matrix(spec)
			if err != nil {
				return err
			}
			if err := m.setWeight(spec, w); err != nil {
				return err
			}
			continue
		}
		v, err := m.vector(spec.Name, int(spec.Shape[0]))
		if err != nil {
			return err
		}
		if err := m.setVector(spec, v); err != nil {
			return err
		}
	}
	if m.output == nil {
		m.output = m.tokEmbd // ChatGLM-6B: lm_head is the embedding (docs/formats.md)
	}
	return nil
}

func (m *Model) closeAdapters() {
	for _, f := range m.adapterFiles {
		_ = f.Close()
	}
	m.adapterFiles = nil
}

func (m *Model) setWeight(spec arch.TensorSpec, w backend.Matrix) error {
	if m.byName == nil {
		m.byName = map[string]backend.Matrix{}
	}
	m.byName[spec.Name] = w
	switch spec.Role {
	case arch.RoleTokenEmbd:
		m.tokEmbd = w
	case arch.RoleOutput:
		m.output = w
	case arch.RoleAttnQKV:
		m.layers[spec.Layer].qkv = w
	case arch.RoleAttnOutput:
		m.layers[spec.Layer].attnOut = w
	case arch.RoleFFNUp:
		m.layers[spec.Layer].up = w
	case arch.RoleFFNDown:
		m.layers[spec.Layer].down = w
	default:
		return fmt.Errorf("tensor %s: the graph has no matrix of role %d", spec.Name, spec.Role)
	}
	return nil
}

func (m *Model) setVector(spec arch.TensorSpec, v backend.Vector) error {
	var ly *layer
	if spec.Layer >= 0 {
		ly = &m.layers[spec.Layer]
	}
	switch spec.Role {
	case arch.RoleOutputNorm:
		m.outNorm = v
	case arch.RoleOutputNormBias:
		m.outNormB = v
	case arch.RoleAttnNorm:
		ly.attnNorm = v
	case arch.RoleAttnNormBias:
		ly.attnNormB = v
	case arch.RoleAttnQKVBias:
		ly.qkvB = v
	case arch.RoleAttnOutputBias:
		ly.attnOutB = v
	case arch.RoleFFNNorm:
		ly.ffnNorm = v
	case arch.RoleFFNNormBias:
		ly.ffnNormB = v
	case arch.RoleFFNUpBias:
		ly.upB = v
	case arch.RoleFFNDownBias:
		ly.downB = v
	case arch.RoleAttnPostNorm:
		ly.postAttnNorm = v
	case arch.RoleFFNPostNorm:
		ly.postFFNNorm = v
	default:
		return fmt.Errorf("tensor %s: the graph has no vector of role %d", spec.Name, spec.Role)
	}
	return nil
}

// ropeFrequencies are θ_i = base^(-2i/d) for the d/2 rotated pairs (spec §3.3).
func ropeFrequencies(p arch.Params) []float32 {
	d := p.RopeDims
	out := make([]float32, d/2)
	for i := range out {
		out[i] = float32(1 / math.Pow(float64(p.RopeFreqBase), float64(2*i)/float64(d)))
	}
	return out
}

// matrix hands the tensor of spec to the backend after checking its shape ([cols, rows] in ggml order).
func (m *Model) matrix(spec arch.TensorSpec) (backend.Matrix, error) {
	f := m.File
	rows, cols := int(spec.Shape[0]), int(spec.Shape[1])
	t, ok := f.Tensor(spec.Name)
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", spec.Name)
	}
	if len(t.Shape) != 2 || t.Shape[0] != int64(cols) || t.Shape[1] != int64(rows) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d, %d]", spec.Name, t.Shape, cols, rows)
	}
	return m.be.Matrix(backend.MatrixSource{
		Name: spec.Name, Type: t.Type, Rows: rows, Cols: cols, Data: f.Data(t),
		Read:    func(off int64, dst []byte) error { return f.ReadRange(t, off, dst) },
		Release: func() { f.Release(t) },
		Lookup:  spec.Role == arch.RoleTokenEmbd,
	})
}

// vector decodes a 1-D tensor of n values and hands it to the backend.
func (m *Model) vector(name string, n int) (backend.Vector, error) {
	t, ok := m.File.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s is missing", name)
	}
	if len(t.Shape) != 1 || t.Shape[0] != int64(n) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d]", name, t.Shape, n)
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(t.Type, m.File.Data(t), out); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return m.be.Vector(out)
}

// loadPrefix reads a P-Tuning v2 prefix, [pre_seq_len, layers·2·kv_dim] with each row layer 0's key, layer
// 0's value, layer 1's key, ... (THUDM's get_prompt: view(P, 2L, kv_heads, head_dim), slot 2l the key and
// 2l+1 the value of layer l), into per-layer key and value rows. They are used as stored: no RoPE.
func (m *Model) loadPrefix(spec arch.TensorSpec) error {
	t, ok := m.File.Tensor(spec.Name)
	if !ok {
		return fmt.Errorf("tensor %s is missing", spec.Name)
	}
	n, width := int(spec.Shape[0]), int(spec.Shape[1])
	if len(t.Shape) != 2 || t.Shape[0] != int64(width) || t.Shape[1] != int64(n) {
		return fmt.Errorf("tensor %s has shape %v, want [%d, %d]", spec.Name, t.Shape, width, n)
	}
	vals := make([]float32, n*width)
	if err := tensor.Dequantize(t.Type, m.File.Data(t), vals); err != nil {
		return fmt.Errorf("tensor %s: %w", spec.Name, err)
	}
	kv := m.Params.KVDim()
	m.prefixK, m.prefixV = make([][]float32, m.Params.Blocks), make([][]float32, m.Params.Blocks)
	for l := range m.Params.Blocks {
		m.prefixK[l], m.prefixV[l] = make([]float32, n*kv), make([]float32, n*kv)
		for i := range n {
			row := vals[i*width:]
			copy(m.prefixK[l][i*kv:(i+1)*kv], row[(2*l)*kv:])
			copy(m.prefixV[l][i*kv:(i+1)*kv], row[(2*l+1)*kv:])
		}
	}
	return nil
}
