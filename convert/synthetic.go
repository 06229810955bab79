package convert

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/tensor"
)

// Presets are the real shapes of the four models (spec §0-§1), for synthetic models.
var Presets = map[string]arch.Params{
	"chatglm-6b": {Family: arch.FamilyChatGLM1, ContextLength: 2048, Embedding: 4096, FeedForward: 16384, Blocks: 28, Heads: 32,
		HeadsKV: 32, NormEpsilon: 1e-5, RopeDims: 64, RopeFreqBase: 10000, ResidualScale: float32(math.Sqrt(56)), Vocab: 130528},
	"chatglm2-6b": {Family: arch.FamilyChatGLM2, ContextLength: 32768, Embedding: 4096, FeedForward: 13696, Blocks: 28, Heads: 32,
		HeadsKV: 2, NormEpsilon: 1e-5, RopeDims: 64, RopeFreqBase: 10000, Vocab: 65024},
	"chatglm3-6b": {Family: arch.FamilyChatGLM3, ContextLength: 8192, Embedding: 4096, FeedForward: 13696, Blocks: 28, Heads: 32,
		HeadsKV: 2, NormEpsilon: 1e-5, RopeDims: 64, RopeFreqBase: 10000, Vocab: 65024},
	"glm4-9b": {Family: arch.FamilyGLM4, ContextLength: 131072, Embedding: 4096, FeedForward: 13696, Blocks: 40, Heads: 32,
		HeadsKV: 2, NormEpsilon: 1.5625e-07, RopeDims: 64, RopeFreqBase: 5e6, Vocab: 151552},
	// GLM-4-9B-0414 / GLM-Z1-9B-0414: GLM-4-9B's shape with the sandwich norms, rope_theta 10000.
	"glm4-9b-0414": {Family: arch.FamilyGLM40414, ContextLength: 32768, Embedding: 4096, FeedForward: 13696, Blocks: 40, Heads: 32,
		HeadsKV: 2, NormEpsilon: 1e-5, RopeDims: 64, RopeFreqBase: 10000, Vocab: 151552},
	// glm-edge-1.5b-chat: 28 layers of 2048 (llama.cpp sizes it as 1.5B by 28 layers and 16 heads); the
	// KV heads and ffn size are from memory, not from its config.json (docs/BENCHMARKS.md says so).
	"glm-edge-1.5b": {Family: arch.FamilyGLMEdge, ContextLength: 8192, Embedding: 2048, FeedForward: 6144, Blocks: 28, Heads: 16,
		HeadsKV: 4, NormEpsilon: 1e-5, RopeDims: 64, RopeFreqBase: 10000, Vocab: 59264},
}

// PresetNames lists the presets, sorted.
func PresetNames() string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// SyntheticOptions describe a random-weight model of a real shape.
type SyntheticOptions struct {
	Preset    string
	Layers    int    // 0: the preset's
	Seed      uint64 // weights are a pure function of the seed
	Tokenizer string // a real tokenizer file; empty: a synthetic vocabulary of the real size and ids
	// NoVocab leaves the tokenizer out (a file driven by token ids), which SyntheticShape needs for shapes
	// too small to hold the real special ids.
	NoVocab bool
	Options
}

// Synthetic writes a random-weight model. Weights are uniform with the variance of a fan-in
// initialisation (1/√fan_in; the output layer gives logits of std ≈ 2.5), norms are near 1, so
// activations stay finite through every layer and sampling does not collapse into one token.
func Synthetic(ctx context.Context, out string, opt SyntheticOptions) (*Report, error) {
	start := time.Now()
	p, ok := Presets[opt.Preset]
	if !ok {
		return nil, fmt.Errorf("unknown synthetic preset %q (want one of %s)", opt.Preset, PresetNames())
	}
	if opt.Layers < 0 || opt.Layers > 1024 {
		return nil, fmt.Errorf("--layers %d is out of range", opt.Layers)
	}
	if opt.Layers > 0 {
		p.Blocks = opt.Layers
	}
	rep, err := syntheticModel(ctx, out, p, opt)
	if err != nil {
		return nil, err
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// SyntheticShape writes a random-weight model of any valid shape p, such as the tiny ones tests and fuzz
// seeds use (opt.Preset is ignored but names the file).
func SyntheticShape(ctx context.Context, out string, p arch.Params, opt SyntheticOptions) (*Report, error) {
	return syntheticModel(ctx, out, p, opt)
}

// syntheticModel writes a random-weight model of any shape p.
func syntheticModel(ctx context.Context, out string, p arch.Params, opt SyntheticOptions) (*Report, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var vocab *Vocab
	var err error
	if opt.NoVocab {
		// hyper-parameters and weights only
	} else if opt.Tokenizer != "" {
		vocab, err = LoadVocab(opt.Tokenizer, p.Family, p.Vocab, nil)
	} else {
		vocab = syntheticVocab(p)
	}
	if err != nil {
		return nil, err
	}
	j := &job{report: &Report{Family: p.Family, Params: p}}
	maps := tensorMaps(p)
	if p.Family == arch.FamilyChatGLM1 {
		maps = maps[:len(maps)-1] // tied lm_head, as for real v1 checkpoints
		j.report.TiedLMHead = true
	}
	for i, m := range maps {
		shape := tensor.FromRowMajor(m.shape...)
		lo, hi := weightKind(m.gguf, p).bounds()
		j.tensors = append(j.tensors, jobTensor{name: m.gguf, shape: shape,
			src: &randomRows{seed: opt.Seed, index: uint64(i), rowLen: shape[0], lo: lo, hi: hi}})
	}
	name := "synthetic-" + opt.Preset
	if opt.Name != "" {
		name = opt.Name
	}
	if opt.VocabOnly {
		j.tensors = nil
	}
	if err := j.write(ctx, out, p, vocab, name, opt.Options); err != nil {
		return nil, err
	}
	return j.report, nil
}

// initKind is the distribution a synthetic tensor is drawn from: uniform with standard deviation std
// around mean.
type initKind struct{ mean, std float64 }

func (k initKind) bounds() (float32, float32) {
	a := k.std * math.Sqrt(3)
	return float32(k.mean - a), float32(k.mean + a)
}

func weightKind(name string, p arch.Params) initKind {
	e := float64(p.Embedding)
	switch {
	case strings.HasSuffix(name, "norm.weight"):
		return initKind{1, 0.2 / math.Sqrt(3)} // U(0.8, 1.2)
	case strings.HasSuffix(name, ".bias"):
		return initKind{0, 0.02}
	case name == arch.TokenEmbd:
		return initKind{0, 1}
	case name == arch.Output:
		return initKind{0, 2.5 / math.Sqrt(e)}
	case strings.Contains(name, "ffn_down"):
		return initKind{0, 1 / math.Sqrt(float64(p.FeedForward))}
	}
	return initKind{0, 1 / math.Sqrt(e)}
}

// randomRows draws row i of tensor index from its own PCG stream, so any row can be generated by any
// goroutine and the model is the same for every thread count.
type randomRows struct {
	seed, index uint64
	rowLen      int64
	lo, hi      float32
}

func (r *randomRows) DecodeRow(i int64, dst []float32) error {
	rng := rand.NewPCG(r.seed^0x9e3779b97f4a7c15*(r.index+1), uint64(i))
	scale := (r.hi - r.lo) / 65536
	for j := 0; j < len(dst); j += 4 {
		u := rng.Uint64()
		for k := 0; k < 4 && j+k < len(dst); k++ {
			dst[j+k] = r.lo + float32(uint16(u>>(16*k)))*scale
		}
	}
	return nil
}
func (r *randomRows) RowBytes() int64      { return 4 * r.rowLen }
func (r *randomRows) Release(int64, int64) {}

// syntheticVocab lays out a vocabulary of the real size with the real special ids (spec §4): byte tokens,
// specials and stop ids where the real tokenizer has them, filler pieces elsewhere.
func syntheticVocab(p arch.Params) *Vocab {
	n := p.Vocab
	v := &Vocab{Special: map[string]int32{}}
	v.Tokens = make([]string, n)
	v.Types = make([]int32, n)
	set := func(id int, tok string, typ int32) { v.Tokens[id], v.Types[id] = tok, typ }
	switch p.Family {
	case arch.FamilyGLM4, arch.FamilyGLM40414, arch.FamilyGLMEdge:
		table := byteToUnicode()
		v.Model, v.Pre, v.ChatTemplate = "gpt2", "chatglm-bpe", chatTemplate(p.Family)
		for b := range 256 {
			set(b, string(table[b]), arch.TokenNormal)
		}
		first := 151329
		if p.Family == arch.FamilyGLMEdge {
			first = 59246 // GLM-Edge's specials: GLM-4's, shifted (unverified; see the fixture's README)
		}
		// Filler tokens are two-character merges of byte characters, each with its merge rule.
		id := 256
		for a := 0; a < 256 && id < first; a++ {
			for b := 0; b < 256 && id < first; b++ {
				l, r := string(table[a]), string(table[b])
				set(id, l+r, arch.TokenNormal)
				v.Merges = append(v.Merges, l+" "+r)
				id++
			}
		}
		for ; id < first; id++ {
			set(id, fmt.Sprintf("[UNUSED%d]", id), arch.TokenUnused)
		}
		for i, s := range specialsGLM4 {
			set(first+i, s, arch.TokenControl)
		}
		for id := first + len(specialsGLM4); id < n; id++ {
			set(id, fmt.Sprintf("[PAD%d]", id), arch.TokenUnused)
		}
		v.Special = map[string]int32{"eos": int32(first), "unknown": int32(first), "padding": int32(first), "eot": int32(first + 7)}
		v.Stop = []int32{int32(first), int32(first + 7), int32(first + 9)}
		return v
	case arch.FamilyChatGLM1:
		v.Model, v.Pre, v.ChatTemplate = "llama", "chatglm1-spm", templateChatGLM1
		v.Scores = make([]float32, n)
		for id := range n {
			set(id, fmt.Sprintf("▁piece%d", id), arch.TokenNormal)
			v.Scores[id] = -float32(id)
		}
		set(0, "<unk>", arch.TokenUnknown)
		set(3, "<pad>", arch.TokenControl)
		set(4, "<n>", arch.TokenUserDefined)
		set(5, "▁", arch.TokenNormal)
		for i, s := range []string{"[MASK]", "[gMASK]", "[sMASK]", "<unused_0>", "<sop>", "<eop>", "<ENC>", "<dBLOCK>"} {
			set(130000+i, s, arch.TokenControl)
		}
		set(130008, "<|tab|>", arch.TokenUserDefined)
		for blank := 2; blank <= 80; blank++ {
			set(130007+blank, fmt.Sprintf("<|blank_%d|>", blank), arch.TokenUserDefined)
		}
		for b := range 256 {
			set(130088+b, fmt.Sprintf("<0x%02X>", b), arch.TokenByte)
		}
		v.Special = map[string]int32{"bos": 130004, "eos": 130005, "mask": 130000, "padding": 3, "unknown": 0}
		v.Stop = []int32{130005}
		return v
	}
	v.Model, v.Pre = "llama", "chatglm-spm"
	v.Scores = make([]float32, n)
	for id := range n {
		set(id, fmt.Sprintf("▁piece%d", id), arch.TokenNormal)
		v.Scores[id] = -float32(id)
	}
	set(0, "<unk>", arch.TokenUnknown)
	set(1, "<bos>", arch.TokenControl)
	set(2, "<eos>", arch.TokenControl)
	for b := range 256 {
		set(3+b, fmt.Sprintf("<0x%02X>", b), arch.TokenByte)
	}
	set(30910, "▁", arch.TokenNormal)
	specials := specialsChatGLM2
	v.ChatTemplate = templateChatGLM2
	v.Stop = []int32{2}
	if p.Family == arch.FamilyChatGLM3 {
		specials = specialsChatGLM3
		v.ChatTemplate = templateChatGLM3
		v.Stop = []int32{2, 64795, 64797}
	}
	for i, s := range specials {
		set(64789+i, s, arch.TokenControl)
		v.Scores[64789+i] = 0
	}
	for id := 64789 + len(specials); id < n; id++ {
		set(id, fmt.Sprintf("[PAD%d]", id), arch.TokenUnused)
		v.Scores[id] = 0
	}
	v.Special = map[string]int32{"bos": 1, "eos": 2, "unknown": 0, "padding": 0}
	return v
}
