package infer

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/mmap"
	"github.com/glmtool/glmtool/tensor"
	"github.com/glmtool/glmtool/tokenizer"
)

// Model is a loaded GGUF model: hyper-parameters, weights (views of the file) and, when the file has one,
// the tokenizer. It is read-only after Load; Sessions hold the per-conversation state.
type Model struct {
	File   *gguf.File
	Params arch.Params
	Tok    *tokenizer.Tokenizer // nil for files without a vocabulary
	Stops  []int32

	tokEmbd   *weight
	output    *weight
	outNorm   []float32
	outNormB  []float32
	layers    []layer
	pool      *pool
	scratch   [][]float32   // one row buffer per worker
	results   [][]float32   // one buffer of a chunk's dot products per worker
	tiles     [][16]float32 // one float tile's results per worker
	ropeTheta []float32     // inverse frequencies of the rotated pairs
	threads   int
	resident  *mmap.Anonymous // the weights' copy (Options.Resident), or nil

	// mu makes evaluation steps of different sessions take turns: the worker pool and its row buffers
	// belong to the model. Go's mutex hands over in FIFO order once waiters starve, so concurrent sessions
	// interleave token by token.
	mu sync.Mutex
}

type layer struct {
	attnNorm, attnNormB []float32
	qkv                 *weight
	qkvB                []float32
	attnOut             *weight
	attnOutB            []float32
	ffnNorm, ffnNormB   []float32
	up                  *weight
	upB                 []float32
	down                *weight
	downB               []float32
}

// Options configure Load.
type Options struct {
	Threads int // 0: the number of CPUs
	// Resident copies the weight matrices into anonymous memory on huge pages at load time instead of
	// reading them from the file mapping (see makeResident), where they fit in the available memory.
	Resident bool
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
	m := &Model{File: f, Params: p}
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
	if err := m.loadWeights(); err != nil {
		return nil, err
	}
	m.threads = opt.Threads
	if m.threads <= 0 {
		m.threads = runtime.NumCPU()
	}
	m.pool = newPool(m.threads)
	maxCols := max(p.Embedding, p.FeedForward, p.FFNUpRows())
	m.scratch = make([][]float32, m.threads)
	m.results = make([][]float32, m.threads)
	m.tiles = make([][16]float32, m.threads)
	for i := range m.scratch {
		m.results[i] = make([]float32, 4)
		m.scratch[i] = make([]float32, maxCols)
	}
	m.ropeTheta = ropeFrequencies(p)
	if opt.Resident {
		if err := m.makeResident(); err != nil {
			m.pool.close()
			return nil, err
		}
	}
	return m, nil
}

// Close releases the worker goroutines and the file.
func (m *Model) Close() error {
	m.pool.close()
	err := m.resident.Close()
	if ferr := m.File.Close(); err == nil {
		err = ferr
	}
	return err
}

// Threads is the number of worker threads.
func (m *Model) Threads() int { return m.threads }

// loadWeights finds every tensor of the architecture's registry (arch.Params.Tensors: names and shapes) in
// the file, checks its shape, and files it where the graph looks for it.
func (m *Model) loadWeights() error {
	f := m.File
	m.layers = make([]layer, m.Params.Blocks)
	for _, spec := range m.Params.Tensors() {
		if _, ok := f.Tensor(spec.Name); !ok && spec.Optional {
			continue
		}
		if len(spec.Shape) == 2 {
			w, err := newWeight(f, spec.Name, int(spec.Shape[0]), int(spec.Shape[1]))
			if err != nil {
				return err
			}
			if err := m.setWeight(spec, w); err != nil {
				return err
			}
			continue
		}
		v, err := vector(f, spec.Name, int(spec.Shape[0]))
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

func (m *Model) setWeight(spec arch.TensorSpec, w *weight) error {
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

func (m *Model) setVector(spec arch.TensorSpec, v []float32) error {
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
	default:
		return fmt.Errorf("tensor %s: the graph has no vector of role %d", spec.Name, spec.Role)
	}
	return nil
}

// ropeFrequencies are θ_i = base^(-2i/d) for the rotated pairs (spec §3.3). ChatGLM-6B's reference builds
// them in fp16, which is reproduced.
func ropeFrequencies(p arch.Params) []float32 {
	d := p.RopeDims
	out := make([]float32, d/2)
	for i := range out {
		theta := float32(1 / math.Pow(float64(p.RopeFreqBase), float64(2*i)/float64(d)))
		if p.Family == arch.FamilyChatGLM1 {
			theta = tensor.F16ToF32(tensor.F32ToF16(theta))
		}
		out[i] = theta
	}
	return out
}
