package infer

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerOptions choose the next token. Temperature 0 is greedy (the first maximum). The filters apply in
// llama.cpp's order: repetition penalty, top-k, top-p, min-p, then temperature.
type SamplerOptions struct {
	Temperature   float32
	TopK          int     // 0: off
	TopP          float32 // 1: off
	MinP          float32 // 0: off
	RepeatPenalty float32 // 1: off
	RepeatLastN   int     // how many recent tokens the penalty looks at (default 64)
	Seed          uint64
}

// Defaults returns the family's generation defaults (spec §6).
func Defaults(fam string) SamplerOptions {
	o := SamplerOptions{Temperature: 0.8, TopP: 0.8, RepeatPenalty: 1, RepeatLastN: 64}
	if fam == "chatglm" {
		o.Temperature, o.TopP = 0.95, 0.7
	}
	return o
}

// Sampler draws tokens reproducibly from its seed.
type Sampler struct {
	opt  SamplerOptions
	rng  *rand.Rand
	cand []candidate
}

type candidate struct {
	id int32
	p  float32
}

// NewSampler returns a sampler; the same seed and logits give the same tokens.
func NewSampler(opt SamplerOptions) *Sampler {
	if opt.RepeatLastN == 0 {
		opt.RepeatLastN = 64
	}
	return &Sampler{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))}
}

// Sample picks the next id from logits (which it may modify) given the tokens so far.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	o := s.opt
	if o.RepeatPenalty != 1 && o.RepeatPenalty > 0 {
		seen := map[int32]bool{}
		for _, id := range history[max(0, len(history)-o.RepeatLastN):] {
			if seen[id] || int(id) >= len(logits) {
				continue
			}
			seen[id] = true
			if logits[id] > 0 {
				logits[id] /= o.RepeatPenalty
			} else {
				logits[id] *= o.RepeatPenalty
			}
		}
	}
	if o.Temperature <= 0 {
		return Argmax(logits)
	}
	c := s.cand[:0]
	for i, v := range logits {
		c = append(c, candidate{int32(i), v})
	}
	slices.SortStableFunc(c, func(a, b candidate) int {
		switch {
		case a.p > b.p:
			return -1
		case a.p < b.p:
			return 1
		}
		return 0
	})
	if o.TopK > 0 && o.TopK < len(c) {
		c = c[:o.TopK]
	}
	// Probabilities at temperature 1 decide top-p and min-p, as in llama.cpp's sampler chain.
	probs := softmaxCandidates(c, 1)
	if o.TopP > 0 && o.TopP < 1 {
		var cum float32
		for i, p := range probs {
			cum += p
			if cum >= o.TopP {
				c, probs = c[:i+1], probs[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		cut := probs[0] * o.MinP
		k := len(c)
		for i, p := range probs {
			if p < cut {
				k = i
				break
			}
		}
		c = c[:max(1, k)]
	}
	probs = softmaxCandidates(c, o.Temperature)
	r := s.rng.Float32()
	var cum float32
	for i, p := range probs {
		cum += p
		if r < cum {
			s.cand = c
			return c[i].id
		}
	}
	s.cand = c
	return c[len(c)-1].id
}

func softmaxCandidates(c []candidate, temp float32) []float32 {
	out := make([]float32, len(c))
	mx := c[0].p
	var sum float64
	for i, x := range c {
		e := math.Exp(float64((x.p - mx) / temp))
		out[i] = float32(e)
		sum += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / sum)
	}
	return out
}

// Argmax is the index of the first largest value: greedy decoding, as llama.cpp breaks ties.
func Argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// LogSoftmax returns log-probabilities of logits, in float64 for the normalisation.
func LogSoftmax(logits []float32) []float32 {
	mx := logits[0]
	for _, v := range logits {
		mx = max(mx, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - mx))
	}
	lse := float64(mx) + math.Log(sum)
	out := make([]float32, len(logits))
	for i, v := range logits {
		out[i] = float32(float64(v) - lse)
	}
	return out
}

// Seed is the seed the sampler was made with, so that a run can report it and be repeated.
func (s *Sampler) Seed() uint64 { return s.opt.Seed }
