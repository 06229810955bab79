package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/infer"
)

// mmapUsage is the help of every command's --mmap.
const mmapUsage = "read the weights from the file mapping instead of copying them onto huge pages at load (no copy, slower generation)"

// modelFlags are the options every command that runs a model shares.
type modelFlags struct {
	model   string
	threads int
	ctx     int
	kvType  string
	temp    float32
	topK    int
	topP    float32
	minP    float32
	repeat  float32
	seed    uint64
	maxTok  int
	mmap    bool
}

func (f *modelFlags) register(c *cobra.Command) {
	fs := c.Flags()
	fs.StringVarP(&f.model, "model", "m", "", "GGUF model file (required)")
	fs.IntVarP(&f.threads, "threads", "t", physicalCores(), "worker threads (default: physical cores)")
	fs.IntVarP(&f.ctx, "ctx", "c", 0, "context size in tokens (default: the smaller of 4096 and the model's maximum)")
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache type: f16 or f32 (exact)")
	fs.Float32Var(&f.temp, "temp", -1, "temperature; 0 is greedy (default: the model family's)")
	fs.IntVar(&f.topK, "top-k", 0, "keep the k most likely tokens (0: off)")
	fs.Float32Var(&f.topP, "top-p", -1, "nucleus sampling threshold (default: the model family's)")
	fs.Float32Var(&f.minP, "min-p", 0, "drop tokens below this fraction of the top probability (0: off)")
	fs.Float32Var(&f.repeat, "repeat-penalty", 1, "penalty for recently used tokens (1: off)")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed; the same seed gives the same output")
	fs.BoolVar(&f.mmap, "mmap", false, mmapUsage)
	fs.IntVarP(&f.maxTok, "max-tokens", "n", -1, "maximum tokens to generate (-1: until a stop token or the context is full)")
}

func (f *modelFlags) load() (*infer.Model, *infer.Session, error) {
	if f.model == "" {
		return nil, nil, usagef("give the model with -m FILE.gguf")
	}
	if f.threads < 1 {
		return nil, nil, usagef("--threads must be at least 1")
	}
	kv, err := parseKVType(f.kvType)
	if err != nil {
		return nil, nil, err
	}
	m, err := infer.Load(f.model, infer.Options{Threads: f.threads, Resident: !f.mmap})
	if err != nil {
		return nil, nil, err
	}
	ctx := f.ctx
	if ctx == 0 {
		ctx = min(4096, m.Params.ContextLength)
	}
	s, err := m.NewSession(ctx, kv)
	if err != nil {
		m.Close()
		return nil, nil, usagef("--ctx: %v", err)
	}
	return m, s, nil
}

// parseKVType reads --kv-type.
func parseKVType(s string) (infer.KVType, error) {
	switch s {
	case "f16":
		return infer.KVF16, nil
	case "f32":
		return infer.KVF32, nil
	}
	return 0, usagef("--kv-type %q: want f16 or f32", s)
}

func (f *modelFlags) sampler(m *infer.Model) *infer.Sampler {
	o := infer.Defaults(string(m.Params.Family))
	if f.temp >= 0 {
		o.Temperature = f.temp
	}
	if f.topP >= 0 {
		o.TopP = f.topP
	}
	o.TopK, o.MinP, o.RepeatPenalty, o.Seed = f.topK, f.minP, f.repeat, f.seed
	return infer.NewSampler(o)
}

func describeModel(m *infer.Model) string {
	p := m.Params
	return fmt.Sprintf("%s, %d layers, hidden %d, vocab %d", p.Family, p.Blocks, p.Embedding, p.Vocab)
}
