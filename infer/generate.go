package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// GenerateOptions control a generation.
type GenerateOptions struct {
	MaxTokens int // <= 0: until a stop id or the context is full
	Stops     []int32
	IgnoreEOS bool // keep going past stop ids (exactly MaxTokens steps)
	Sampler   *Sampler
	// OnToken is called with each generated id as soon as it is chosen; returning false stops.
	OnToken func(id int32) bool
	// OnLogits, when set, sees the logits that produced each generated token (before sampling changes them).
	OnLogits func(step int, logits []float32)
	// Prompt and Step, when set, evaluate the prompt instead of EvalPrompt and each generated token
	// instead of Eval (the server batches the work of several sessions through Model.EvalBatch); they
	// must return the logits those would.
	Prompt func(ctx context.Context, tokens []int32) ([]float32, error)
	Step   func(id int32) ([]float32, error)
}

// Result describes a finished generation.
type Result struct {
	Generated  []int32
	StopReason string // "stop" (a stop id), "length" (MaxTokens), "context" (context full), "cancelled"
	PromptTime time.Duration
	GenTime    time.Duration
	PromptN    int
}

// PromptChunk is how many prompt tokens EvalPrompt feeds at a time: as many as one pass of the CPU
// backend's matrix products takes (its maxChunk), so chunking costs no extra pass over the weights, and a
// cancelled context is noticed within a second or two even for a long prompt.
const PromptChunk = 64

// EvalPrompt feeds tokens in chunks, checking ctx between them, and returns the logits after the last.
func (s *Session) EvalPrompt(ctx context.Context, tokens []int32) ([]float32, error) {
	var logits [][]float32
	for start := 0; start < len(tokens); start += PromptChunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		if logits, err = s.Eval(tokens[start:min(len(tokens), start+PromptChunk)], false); err != nil {
			return nil, err
		}
	}
	if logits == nil {
		return nil, fmt.Errorf("the prompt is empty")
	}
	return logits[0], nil
}

// Generate feeds prompt (after the cached tokens) and samples until a stop id, MaxTokens, a full context
// or ctx's cancellation. The stop id itself is not included in Generated.
func (s *Session) Generate(ctx context.Context, prompt []int32, opt GenerateOptions) (*Result, error) {
	res := &Result{PromptN: len(prompt)}
	if len(prompt) == 0 {
		return nil, fmt.Errorf("the prompt is empty")
	}
	if s.prefix+len(s.tokens)+len(prompt) > s.ctx {
		return nil, fmt.Errorf("%w: the prompt has %d tokens (plus %d cached), the context holds %d; raise --ctx (the model allows %d)",
			ErrContextFull, len(prompt), len(s.tokens), s.ctx, s.m.Params.ContextLength)
	}
	t0 := time.Now()
	evalPrompt := s.EvalPrompt
	if opt.Prompt != nil {
		evalPrompt = opt.Prompt
	}
	row, err := evalPrompt(ctx, prompt)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		res.PromptTime, res.StopReason = time.Since(t0), "cancelled"
		return res, nil
	}
	if err != nil {
		return nil, err
	}
	res.PromptTime = time.Since(t0)
	t1 := time.Now()
	defer func() { res.GenTime = time.Since(t1) }()
	for step := 0; ; step++ {
		if opt.OnLogits != nil {
			opt.OnLogits(step, row)
		}
		id := opt.Sampler.Sample(slices.Clone(row), s.tokens)
		if !opt.IgnoreEOS && slices.Contains(opt.Stops, id) {
			res.StopReason = "stop"
			return res, nil
		}
		res.Generated = append(res.Generated, id)
		if opt.OnToken != nil && !opt.OnToken(id) {
			res.StopReason = "cancelled"
			return res, nil
		}
		if opt.MaxTokens > 0 && len(res.Generated) >= opt.MaxTokens {
			res.StopReason = "length"
			return res, nil
		}
		if err := ctx.Err(); err != nil {
			res.StopReason = "cancelled"
			return res, nil
		}
		if len(s.tokens) >= s.ctx {
			res.StopReason = "context"
			return res, nil
		}
		var err error
		if opt.Step != nil {
			row, err = opt.Step(id)
		} else {
			var out [][]float32
			out, err = s.Eval([]int32{id}, false)
			if err == nil {
				row = out[0]
			}
		}
		if err != nil {
			if errors.Is(err, ErrContextFull) {
				res.StopReason = "context"
				return res, nil
			}
			return res, err
		}
	}
}
