package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/tensor"
)

// Test is one measurement: pp (Prompt > 0, Gen = 0), tg (Gen > 0, Prompt = 0) or pg (both), after Depth
// tokens already in the KV cache (llama-bench's -d; their prompt is not timed). A tg test with Parallel
// above 1 generates for that many sequences at once, one batched decode step (Model.DecodeBatch) per
// token of each, as a server's concurrent streams do (llama-batched-bench's -npl); its speed counts the
// tokens of all of them.
type Test struct {
	Prompt, Gen, Depth int
	Parallel           int // tg only; 0 or 1: one sequence
}

// Name is llama-bench's label: pp512, tg128, pp512+tg128, tg128 @ d8192, and tg128 x4 for four
// sequences decoded together.
func (t Test) Name() string {
	var n string
	switch {
	case t.Gen == 0:
		n = fmt.Sprintf("pp%d", t.Prompt)
	case t.Prompt == 0:
		n = fmt.Sprintf("tg%d", t.Gen)
	default:
		n = fmt.Sprintf("pp%d+tg%d", t.Prompt, t.Gen)
	}
	if t.seqs() > 1 {
		n += fmt.Sprintf(" x%d", t.seqs())
	}
	if t.Depth > 0 {
		n += fmt.Sprintf(" @ d%d", t.Depth)
	}
	return n
}

// Tokens is the number of tokens the speed is counted over.
func (t Test) Tokens() int { return t.Prompt + t.Gen*t.seqs() }

// seqs is the number of sequences the test generates for.
func (t Test) seqs() int { return max(1, t.Parallel) }

// Check refuses what Run cannot measure: parallel sequences run for generation only, each from an
// empty cache.
func (t Test) Check() error {
	if t.seqs() > 1 && (t.Prompt > 0 || t.Depth > 0) {
		return fmt.Errorf("test %s: parallel sequences run for generation only and without -d (each starts empty)", t.Name())
	}
	return nil
}

// Result is one row of a benchmark report. Its JSON form is documented in README.md.
type Result struct {
	Model          string    `json:"model"`
	Architecture   string    `json:"architecture"`
	Family         string    `json:"family"`
	Type           string    `json:"type"`
	SizeBytes      int64     `json:"size_bytes"`
	Parameters     int64     `json:"parameters"`
	Backend        string    `json:"backend"`
	Kernels        string    `json:"kernels"` // the CPU kernel set: avx512-vnni, avx512, avx2 or generic
	Threads        int       `json:"threads"`
	Test           string    `json:"test"`
	PromptTokens   int       `json:"n_prompt"`
	GenTokens      int       `json:"n_gen"`
	Depth          int       `json:"n_depth"`
	Parallel       int       `json:"n_parallel"` // sequences generated together (1: one)
	Repetitions    int       `json:"repetitions"`
	TokensPerSec   float64   `json:"tokens_per_second"`
	TokensPerSecSD float64   `json:"tokens_per_second_sd"`
	Samples        []float64 `json:"samples_tokens_per_second"`
	PeakRSSBytes   int64     `json:"peak_rss_bytes"`
	VRAMBytes      *int64    `json:"vram_bytes"` // null on the CPU
	BytesPerToken  int64     `json:"bytes_per_token"`
	BandwidthBps   float64   `json:"bandwidth_bytes_per_second"`
	RooflinePct    *float64  `json:"roofline_percent"` // generation tests only
}

// Options choose what to run.
type Options struct {
	Tests       []Test
	Threads     []int
	Repetitions int
	Ctx         int // 0: enough for the largest test
	KV          infer.KVType
	Mmap        bool         // read weights from the file mapping (infer.Options.Resident false)
	LoRA        []infer.LoRA // adapters applied at run time
	// NewBackend, when set, makes the backend of each load (a GPU); it or its result nil: the CPU backend
	// with the load's thread count.
	NewBackend func(threads int) (backend.Backend, error)
	// DeviceBandwidthBytes is the buffer a device backend's bandwidth probe copies (0: no probe).
	DeviceBandwidthBytes int64
	// Progress is called before each measurement with a short description.
	Progress func(what string)
}

// Run benchmarks the model in path over every thread count and test.
func Run(ctx context.Context, path string, opt Options, peakRSS func() int64) ([]Result, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	k, err := kernels.Default() // the CPU backend's kernel set, for the report
	if err != nil {
		return nil, err
	}
	for _, t := range opt.Tests {
		if err := t.Check(); err != nil {
			return nil, err
		}
	}
	var out []Result
	for _, threads := range opt.Threads {
		first := len(out)
		var be backend.Backend
		if opt.NewBackend != nil {
			if be, err = opt.NewBackend(threads); err != nil {
				return nil, err
			}
		}
		m, err := infer.Load(path, infer.Options{Threads: threads, Resident: !opt.Mmap, LoRA: opt.LoRA, Backend: be})
		if err != nil {
			return nil, err
		}
		need := 11 // the warm-up: 8 prompt tokens, 2 generated
		for _, t := range opt.Tests {
			need = max(need, t.Depth+t.Tokens()+1)
		}
		n := opt.Ctx
		if n == 0 {
			n = need
		}
		if need > n || n > m.Params.ContextLength {
			m.Close()
			return nil, fmt.Errorf("%s: the tests need %d tokens of context; the model allows %d and --ctx is %d", path, need, m.Params.ContextLength, n)
		}
		perTok := BytesPerToken(m)
		// Warm-up, not counted: maps the weights and fills the caches.
		if err := measure(ctx, m, nil, n, opt.KV, Test{Prompt: 8, Gen: 2}, nil); err != nil {
			m.Close()
			return nil, err
		}
		// Tests at a depth share one session whose cache was filled once; each measurement cuts it back.
		var deep *infer.Session
		for _, t := range opt.Tests {
			if t.Depth > 0 && (deep == nil || deep.Len() < t.Depth) {
				if deep != nil {
					deep.Close()
				}
				if opt.Progress != nil {
					opt.Progress(fmt.Sprintf("%s t=%d: filling the KV cache with %d tokens (not timed)", filepath.Base(path), threads, t.Depth))
				}
				if deep, err = m.NewSession(n, opt.KV); err == nil {
					_, err = deep.EvalPrompt(ctx, syntheticTokens(m, t.Depth, 104729))
				}
				if err != nil {
					m.Close()
					return nil, err
				}
			}
			var samples []float64
			for r := range max(1, opt.Repetitions) {
				if opt.Progress != nil {
					opt.Progress(fmt.Sprintf("%s %s t=%d rep %d", filepath.Base(path), t.Name(), threads, r+1))
				}
				var s *infer.Session
				if t.Depth > 0 {
					deep.Truncate(t.Depth)
					s = deep
				}
				if err := measure(ctx, m, s, n, opt.KV, t, &samples); err != nil {
					m.Close()
					return nil, err
				}
			}
			mean, sd := stat.MeanStdDev(samples, nil)
			if len(samples) < 2 {
				sd = 0
			}
			res := Result{Model: filepath.Base(path), Architecture: m.Params.Family.Architecture(), Family: string(m.Params.Family),
				Type: fileType(m), SizeBytes: st.Size(), Parameters: m.File.ParameterCount(), Backend: strings.ToUpper(m.Backend()), Kernels: k.Name(), Threads: threads,
				Test: t.Name(), PromptTokens: t.Prompt, GenTokens: t.Gen, Depth: t.Depth, Parallel: t.seqs(), Repetitions: len(samples), TokensPerSec: mean,
				TokensPerSecSD: sd, Samples: samples, PeakRSSBytes: peakRSS(), BytesPerToken: perTok}
			if v, ok := m.VRAM(); ok {
				res.VRAMBytes = &v.Peak // like peak_rss_bytes: the most held at once
				res.Kernels = "cuda"
			}
			out = append(out, res)
		}
		if deep != nil {
			deep.Close()
		}
		if pr, ok := be.(backend.BandwidthProber); ok && opt.DeviceBandwidthBytes > 0 {
			// A GPU's generation is bound by its own memory: its roofline is taken against a device copy.
			bw, err := pr.MeasureBandwidth(opt.DeviceBandwidthBytes)
			if err != nil {
				m.Close()
				return nil, fmt.Errorf("device bandwidth: %w", err)
			}
			SetBandwidth(out[first:], bw)
		}
		m.Close()
	}
	return out, nil
}

// SetBandwidth records the measured bandwidth (bytes/s) and each generation test's share of it: decode
// steps per second × bytes read per step (the weights once, for every sequence of the step) ÷ bandwidth.
func SetBandwidth(results []Result, bw float64) {
	for i := range results {
		r := &results[i]
		if r.BandwidthBps > 0 {
			continue // measured already, on its device
		}
		r.BandwidthBps = bw
		if r.PromptTokens == 0 && bw > 0 {
			pct := 100 * r.TokensPerSec / float64(max(1, r.Parallel)) * float64(r.BytesPerToken) / bw
			r.RooflinePct = &pct
		}
	}
}

// syntheticTokens are n token ids spread over the vocabulary.
func syntheticTokens(m *infer.Model, n, step int) []int32 {
	tokens := make([]int32, n)
	for i := range tokens {
		tokens[i] = int32((i*step + 17) % m.Params.Vocab)
	}
	return tokens
}

// measure runs one test, on s (a session holding t.Depth tokens) or on a fresh session of n positions,
// and appends its tokens per second.
func measure(ctx context.Context, m *infer.Model, s *infer.Session, n int, kv infer.KVType, t Test, samples *[]float64) error {
	if t.seqs() > 1 {
		return measureBatch(ctx, m, n, kv, t, samples)
	}
	if s == nil {
		var err error
		if s, err = m.NewSession(n, kv); err != nil {
			return err
		}
		defer s.Close()
	}
	tokens := syntheticTokens(m, max(1, t.Prompt), 7919)
	start := time.Now()
	if t.Prompt == 0 {
		tokens = tokens[:1] // tg starts from one token, not counted
	}
	last, err := s.EvalPrompt(ctx, tokens)
	if err != nil {
		return err
	}
	if t.Prompt == 0 {
		start = time.Now()
	}
	for range t.Gen {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := infer.Argmax(last)
		logits, err := s.Eval([]int32{next}, false)
		if err != nil {
			return err
		}
		last = logits[0]
	}
	if samples != nil {
		*samples = append(*samples, float64(t.Tokens())/time.Since(start).Seconds())
	}
	return nil
}

// measureBatch runs a tg test of t.Parallel sequences, each started from its own token (not counted) and
// then decoded together, one batched step per generated token of each.
func measureBatch(ctx context.Context, m *infer.Model, n int, kv infer.KVType, t Test, samples *[]float64) error {
	sessions := make([]*infer.Session, t.seqs())
	next := make([]int32, len(sessions))
	for i := range sessions {
		s, err := m.NewSession(n, kv)
		if err != nil {
			return err
		}
		defer s.Close()
		sessions[i] = s
		logits, err := s.EvalPrompt(ctx, syntheticTokens(m, i+1, 7919)[i:]) // a different start for each
		if err != nil {
			return err
		}
		next[i] = infer.Argmax(logits)
	}
	start := time.Now()
	for range t.Gen {
		if err := ctx.Err(); err != nil {
			return err
		}
		logits, err := m.DecodeBatch(sessions, next)
		if err != nil {
			return err
		}
		for i, lg := range logits {
			next[i] = infer.Argmax(lg)
		}
	}
	if samples != nil {
		*samples = append(*samples, float64(t.Tokens())/time.Since(start).Seconds())
	}
	return nil
}

// BytesPerToken is what generating one token reads from memory: every weight once, except the embedding,
// of which only one row is read.
func BytesPerToken(m *infer.Model) int64 {
	var total int64
	for i := range m.File.Tensors {
		t := &m.File.Tensors[i]
		if t.Name == arch.TokenEmbd && m.File.Meta.Has(arch.KeyArchitecture) {
			if _, tied := m.File.Tensor(arch.Output); tied {
				total += t.Size / t.Shape.Rows()
				continue
			}
		}
		total += t.Size
	}
	return total
}

func fileType(m *infer.Model) string {
	if ft, err := m.File.Meta.Uint32(arch.KeyFileType); err == nil {
		return tensor.FileType(ft).String()
	}
	return "?"
}
