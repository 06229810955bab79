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

func (m *Model) loadWeights() error {
	p := m.Params
	f := m.File
	e, v := p.Embedding, p.Vocab
	var err error
	if m.tokEmbd, err = newWeight(f, arch.TokenEmbd, v, e); err != nil {
		return err
	}
	if _, ok := f.Tensor(arch.Output); ok {
		if m.output, err = newWeight(f, arch.Output, v, e); err != nil {
			return err
		}
	} else {
		m.output = m.tokEmbd // ChatGLM-6B: lm_head is the embedding (docs/formats.md)
	}
	if m.outNorm, err = vector(f, arch.OutputNorm, e); err != nil {
		return err
	}
	v1 := p.Family == arch.FamilyChatGLM1
	if v1 {
		if m.outNormB, err = vector(f, arch.OutputNormBias, e); err != nil {
			return err
		}
	}
	for l := range p.Blocks {
		var ly layer
		steps := []func() error{
			func() (err error) { ly.attnNorm, err = vector(f, arch.AttnNorm(l), e); return },
			func() (err error) { ly.qkv, err = newWeight(f, arch.AttnQKV(l), p.QKVRows(), e); return },
			func() (err error) { ly.attnOut, err = newWeight(f, arch.AttnOutput(l), e, e); return },
			func() (err error) { ly.ffnNorm, err = vector(f, arch.FFNNorm(l), e); return },
			func() (err error) { ly.up, err = newWeight(f, arch.FFNUp(l), p.FFNUpRows(), e); return },
			func() (err error) { ly.down, err = newWeight(f, arch.FFNDown(l), e, p.FeedForward); return },
		}
		if _, ok := f.Tensor(arch.AttnQKVBias(l)); ok || v1 {
			steps = append(steps, func() (err error) { ly.qkvB, err = vector(f, arch.AttnQKVBias(l), p.QKVRows()); return })
		}
		if v1 {
			steps = append(steps,
				func() (err error) { ly.attnNormB, err = vector(f, arch.AttnNormBias(l), e); return },
				func() (err error) { ly.attnOutB, err = vector(f, arch.AttnOutputBias(l), e); return },
				func() (err error) { ly.ffnNormB, err = vector(f, arch.FFNNormBias(l), e); return },
				func() (err error) { ly.upB, err = vector(f, arch.FFNUpBias(l), p.FFNUpRows()); return },
				func() (err error) { ly.downB, err = vector(f, arch.FFNDownBias(l), e); return },
			)
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		m.layers = append(m.layers, ly)
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
