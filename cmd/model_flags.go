package cmd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/infer"
)

// mmapUsage is the help of every command's --mmap.
const mmapUsage = "read the weights from the file mapping instead of copying them onto huge pages at load (no copy, slower generation)"

// loadFlags are the options of every command that loads one model (run, chat, serve, perplexity): the
// same names, help and checks everywhere. Only what --ctx sizes differs, and each command says what.
type loadFlags struct {
	model   string
	threads int
	ctx     int
	kvType  string
	dev     deviceFlags
	mmap    bool
	loras   []string
	set     *pflag.FlagSet // to tell a value given from a default
	cmd     *cobra.Command // for its stderr (--device auto says which it chose)
}

// loraUsage is the help of every command's --lora.
const loraUsage = "apply a LoRA adapter (a GGUF adapter: glmtool convert ADAPTER_DIR --base MODEL.gguf) at run time, with an optional scale (default 1); repeatable"

// parseLoRAs reads --lora FILE[:SCALE] values.
func parseLoRAs(values []string) ([]infer.LoRA, error) {
	var out []infer.LoRA
	for _, v := range values {
		l := infer.LoRA{Path: v, Scale: 1}
		if i := strings.LastIndexByte(v, ':'); i > 0 {
			if s, err := strconv.ParseFloat(v[i+1:], 32); err == nil {
				if math.IsNaN(s) || math.IsInf(s, 0) || math.Abs(s) > 1e4 {
					return nil, usagef("--lora %s: scale %s is out of range", v, v[i+1:])
				}
				l.Path, l.Scale = v[:i], float32(s)
			}
		}
		if l.Path == "" {
			return nil, usagef("--lora %q: give the adapter file", v)
		}
		out = append(out, l)
	}
	return out, nil
}

func (f *loadFlags) register(c *cobra.Command, ctxUsage string) {
	fs := c.Flags()
	f.set, f.cmd = fs, c
	fs.StringVarP(&f.model, "model", "m", "", "GGUF model file (required)")
	fs.IntVarP(&f.threads, "threads", "t", physicalCores(), "worker threads (default: physical cores)")
	fs.IntVarP(&f.ctx, "ctx", "c", 0, ctxUsage)
	fs.StringVar(&f.kvType, "kv-type", "f16", "KV cache type: f16, f32 (exact), q8_0 or q4_0 (about half and a quarter of f16's memory)")
	fs.StringVar(&f.dev.device, "device", "cpu", deviceUsage)
	fs.IntVar(&f.dev.gpuLayers, "gpu-layers", -1, gpuLayersUsage)
	fs.BoolVar(&f.mmap, "mmap", false, mmapUsage)
	fs.StringArrayVar(&f.loras, "lora", nil, loraUsage)
}

func (f *loadFlags) given(name string) bool { return f.set != nil && f.set.Changed(name) }

func (f *loadFlags) validate() error {
	switch {
	case f.model == "":
		return usagef("give the model with -m FILE.gguf")
	case f.threads < 1:
		return usagef("--threads %d: want at least 1", f.threads)
	case f.given("ctx") && f.ctx < 1:
		return usagef("--ctx %d: want at least 1 token (leave it out for the default)", f.ctx)
	}
	if err := f.dev.check(f.given); err != nil {
		return err
	}
	if _, err := parseLoRAs(f.loras); err != nil {
		return err
	}
	_, err := parseKVType(f.kvType)
	return err
}

// load checks the flags and loads the model.
func (f *loadFlags) load() (*infer.Model, infer.KVType, error) {
	if err := f.validate(); err != nil {
		return nil, 0, err
	}
	kv, _ := parseKVType(f.kvType)
	loras, _ := parseLoRAs(f.loras)
	be, err := f.dev.open(f.model, f.threads, f.cmd.ErrOrStderr())
	if err != nil {
		return nil, 0, err
	}
	m, err := infer.Load(f.model, infer.Options{Threads: f.threads, Resident: !f.mmap, LoRA: loras, Backend: be})
	if err != nil {
		return nil, 0, err
	}
	return m, kv, nil
}

// context is --ctx, or def capped at the model's maximum.
func (f *loadFlags) context(m *infer.Model, def int) int {
	if f.given("ctx") {
		return f.ctx
	}
	return min(def, m.Params.ContextLength)
}

// samplingFlags are the sampling options of run and chat.
type samplingFlags struct {
	temp   float32
	topK   int
	topP   float32
	minP   float32
	repeat float32
	seed   uint64
	maxTok int
	set    *pflag.FlagSet // --temp 0 is greedy, not "unset"
}

// familyDefault describes a sampling default per family, from infer.Defaults, for --help.
func familyDefault(get func(infer.SamplerOptions) float32) string {
	v1, others := get(infer.Defaults(string(arch.FamilyChatGLM1))), get(infer.Defaults(string(arch.FamilyChatGLM3)))
	return fmt.Sprintf("default: %g for ChatGLM-6B, %g for ChatGLM2/3 and GLM-4", v1, others)
}

func (f *samplingFlags) register(c *cobra.Command) {
	fs := c.Flags()
	f.set = fs
	fs.Float32Var(&f.temp, "temp", 0, "temperature, 0 or more; 0 is greedy ("+familyDefault(func(o infer.SamplerOptions) float32 { return o.Temperature })+")")
	fs.IntVar(&f.topK, "top-k", 0, "keep the k most likely tokens (0: off)")
	fs.Float32Var(&f.topP, "top-p", 0, "nucleus sampling threshold in (0, 1] ("+familyDefault(func(o infer.SamplerOptions) float32 { return o.TopP })+")")
	fs.Float32Var(&f.minP, "min-p", 0, "drop tokens below this fraction of the top probability, in [0, 1] (0: off)")
	fs.Float32Var(&f.repeat, "repeat-penalty", 1, "penalty for recently used tokens, above 0 (1: off)")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed; the same seed gives the same output (default: a new random seed each run, reported by -v and --json)")
	fs.IntVarP(&f.maxTok, "max-tokens", "n", -1, "maximum tokens to generate, 1 or more; -1: until a stop token or the context is full")
}

// validate checks every value against its range before a model is loaded, naming the flag.
func (f *samplingFlags) validate() error {
	given := func(name string) bool { return f.set != nil && f.set.Changed(name) }
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	switch {
	case f.maxTok == 0 || f.maxTok < -1:
		return usagef("--max-tokens %d: want 1 or more, or -1 for no limit but the context", f.maxTok)
	case given("temp") && !(f.temp >= 0 && finite(f.temp)):
		return usagef("--temp %v: want 0 (greedy) or more", f.temp)
	case given("top-p") && !(f.topP > 0 && f.topP <= 1):
		return usagef("--top-p %v: want a value in (0, 1]", f.topP)
	case !(f.minP >= 0 && f.minP <= 1):
		return usagef("--min-p %v: want a value in [0, 1]", f.minP)
	case f.topK < 0:
		return usagef("--top-k %d: want 0 (off) or more", f.topK)
	case !(f.repeat > 0 && finite(f.repeat)):
		return usagef("--repeat-penalty %v: want a value above 0 (1 is off)", f.repeat)
	}
	return nil
}

func (f *samplingFlags) sampler(m *infer.Model) *infer.Sampler {
	o := infer.Defaults(string(m.Params.Family))
	if f.set.Changed("temp") {
		o.Temperature = f.temp
	}
	if f.set.Changed("top-p") {
		o.TopP = f.topP
	}
	o.TopK, o.MinP, o.RepeatPenalty, o.Seed = f.topK, f.minP, f.repeat, f.seed
	if !f.set.Changed("seed") {
		o.Seed = rand.Uint64() // two runs without --seed differ, as "random" promises
	}
	return infer.NewSampler(o)
}

// modelFlags are run's and chat's: a model with a session, and sampling.
type modelFlags struct {
	loadFlags
	samplingFlags
}

func (f *modelFlags) register(c *cobra.Command) {
	f.loadFlags.register(c, "context size in tokens, at least 1 (default: the smaller of 4096 and the model's maximum)")
	f.samplingFlags.register(c)
}

// load checks every flag, loads the model and opens a session of --ctx tokens.
func (f *modelFlags) load() (*infer.Model, *infer.Session, error) {
	if err := f.loadFlags.validate(); err != nil {
		return nil, nil, err
	}
	if err := f.samplingFlags.validate(); err != nil {
		return nil, nil, err
	}
	m, kv, err := f.loadFlags.load()
	if err != nil {
		return nil, nil, err
	}
	s, err := m.NewSession(f.context(m, 4096), kv)
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
	case "q8_0":
		return infer.KVQ8_0, nil
	case "q4_0":
		return infer.KVQ4_0, nil
	}
	return 0, usagef("--kv-type %q: want f16, f32, q8_0 or q4_0", s)
}

func describeModel(m *infer.Model) string {
	p := m.Params
	return fmt.Sprintf("%s, %d layers, hidden %d, vocab %d", p.Family, p.Blocks, p.Embedding, p.Vocab)
}

// errNoTokenizer is the one message every command gives for a model file without a tokenizer (convert
// warns when it writes one): what cannot be done, and the two ways on.
func errNoTokenizer(path, what string) error {
	return fmt.Errorf("%s has no tokenizer (it was converted without one), so it cannot %s; "+
		"drive it with token ids (run --prompt-ids), or convert again with the tokenizer file beside config.json", path, what)
}
