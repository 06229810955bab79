package cmd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/quantize"
)

type convertFlags struct {
	out       string
	outType   string
	family    string
	vocabOnly bool
	name      string
	threads   int
	json      bool
	synthetic string
	layers    int
	seed      uint64
	tokenizer string
	ptuning   string
	lora      string
	base      string
}

func (a *app) convertCommand() *cobra.Command {
	var fl convertFlags
	c := &cobra.Command{
		Use:   "convert MODEL_DIR -o OUT.gguf",
		Short: "Convert a Hugging Face ChatGLM checkpoint (or a synthetic model) to GGUF",
		Long: `Convert a checkpoint folder exactly as THUDM publishes it on Hugging Face (config.json, sharded
safetensors or PyTorch .bin weights, tokenizer files) to one GGUF file with the weights, hyper-parameters,
tokenizer and chat template. ChatGLM-6B, ChatGLM2-6B (and -32k), ChatGLM3-6B (and -32k), GLM-4-9B-chat,
GLM-4-9B-0414 / GLM-Z1-9B-0414 and GLM-Edge are detected from config.json; THUDM's int4/int8 checkpoints
are dequantized on read. No Python is needed and the remote-code .py files are never run. Files of every
family but ChatGLM-6B use llama.cpp's architectures (chatglm, glm4) and load there.

Fine-tunes: --ptuning CKPT_DIR stores a P-Tuning v2 prefix (THUDM's ptuning/main.py checkpoint) with the
base, and run, chat and serve then use it; a full checkpoint that holds its prefix encoder keeps it without
the flag. --lora ADAPTER_DIR merges a PEFT LoRA adapter into the weights (W + α/r·B·A in float64, then the
output type). An adapter can also stay separate: convert ADAPTER_DIR --base MODEL.gguf writes it as a GGUF LoRA
adapter (llama.cpp's layout) for run, chat, serve, bench and perplexity --lora FILE[:SCALE].

--synthetic PRESET builds a random-weight model of a real shape instead (` + convert.PresetNames() + `),
for benchmarks and trials without a download.

Output types: f32, f16 (default), bf16, or any quantize type (` + quantize.TargetNames() + `).`,
		Example: `  glmtool convert ~/models/chatglm3-6b -o chatglm3-6b-f16.gguf
  glmtool convert ~/models/glm-4-9b-chat --outtype q4_0 -o glm4-9b-q4_0.gguf
  glmtool convert ~/models/chatglm3-6b --ptuning output/adgen-chatglm3-6b-pt-128/checkpoint-3000 -o adgen.gguf
  glmtool convert ~/models/glm-4-9b-chat --lora my-adapter --outtype q8_0 -o glm4-mine.gguf
  glmtool convert my-adapter --base glm4-9b-q4_0.gguf -o my-adapter.gguf
  glmtool convert --synthetic chatglm3-6b --layers 4 -o tiny.gguf`,
		Args: func(cmd *cobra.Command, args []string) error {
			if fl.synthetic != "" {
				return exactArgs(0)(cmd, args)
			}
			return exactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if fl.out == "" {
				return usagef("give the output file with -o OUT.gguf")
			}
			if fl.threads < 1 {
				return usagef("--threads must be at least 1")
			}
			if err := checkLayers(cmd, fl.layers); err != nil {
				return err
			}
			if _, err := quantize.ParseTarget(fl.outType); err != nil {
				return usageError{err}
			}
			opt := convert.Options{OutType: fl.outType, Family: fl.family, VocabOnly: fl.vocabOnly, Name: fl.name, Threads: fl.threads,
				PTuning: fl.ptuning, LoRA: fl.lora}
			if fl.synthetic != "" && (fl.ptuning != "" || fl.lora != "") {
				return usagef("--ptuning and --lora apply to a checkpoint folder, not to --synthetic")
			}
			bar := newProgress(a.stderr, 0, "convert")
			if bar != nil {
				opt.Progress = func(done, total int64) { bar.ChangeMax64(total); _ = bar.Set64(done) }
			}
			var rep *convert.Report
			var err error
			a.removeStaleTemps(fl.out)
			if fl.synthetic != "" {
				rep, err = convert.Synthetic(cmd.Context(), fl.out, convert.SyntheticOptions{Preset: fl.synthetic, Layers: fl.layers,
					Seed: fl.seed, Tokenizer: fl.tokenizer, Options: opt})
			} else {
				if err := quantize.Check(args[0], fl.out); err != nil {
					return err
				}
				_, statErr := os.Stat(filepath.Join(args[0], "adapter_config.json"))
				switch {
				case fl.base != "":
					rep, err = convert.LoRAFile(cmd.Context(), args[0], fl.base, fl.out, opt)
				case statErr == nil:
					return usagef("%s is a LoRA adapter: give its base model with --base MODEL.gguf to write it as a GGUF adapter, or merge it with convert BASE_DIR --lora %s", args[0], args[0])
				default:
					rep, err = convert.Checkpoint(cmd.Context(), args[0], fl.out, opt)
				}
			}
			if bar != nil {
				_ = bar.Finish()
			}
			if err != nil {
				return err
			}
			if rep.NoTokenizer {
				fmt.Fprintf(a.stderr, "glmtool: warning: %s has no tokenizer file (%s), so %s holds none: it runs on token ids only "+
					"(run --prompt-ids); put the tokenizer beside config.json and convert again to chat or tokenize\n",
					args[0], convert.TokenizerFile(rep.Family), fl.out)
			}
			if fl.json {
				return writeConvertJSON(a.stdout, fl.out, rep)
			}
			return renderConvertReport(a.stdout, fl.out, rep)
		},
	}
	f := c.Flags()
	f.StringVarP(&fl.out, "output", "o", "", "output GGUF file (required)")
	f.StringVar(&fl.outType, "outtype", "f16", "tensor type: f32, f16, bf16 or a quantize type")
	f.StringVar(&fl.family, "family", "", "override detection: chatglm, chatglm2, chatglm3, glm4, glm4-0414 or glm-edge")
	f.BoolVar(&fl.vocabOnly, "vocab-only", false, "write the tokenizer and hyper-parameters only, no weights")
	f.StringVar(&fl.name, "name", "", "general.name to store (default: from config.json)")
	f.IntVarP(&fl.threads, "threads", "t", runtime.NumCPU(), "worker threads")
	f.BoolVar(&fl.json, "json", false, "print the report as JSON")
	f.StringVar(&fl.synthetic, "synthetic", "", "build a random-weight model of a real shape: "+convert.PresetNames())
	f.IntVar(&fl.layers, "layers", 0, "with --synthetic: number of layers (default: the real count)")
	f.Uint64Var(&fl.seed, "seed", 1, "with --synthetic: random seed")
	f.StringVar(&fl.tokenizer, "tokenizer", "", "with --synthetic: a real tokenizer file to embed")
	f.StringVar(&fl.ptuning, "ptuning", "", "a P-Tuning v2 checkpoint folder whose prefix is stored with the model")
	f.StringVar(&fl.lora, "lora", "", "a PEFT LoRA adapter folder to merge into the weights")
	f.StringVar(&fl.base, "base", "", "MODEL_DIR is a LoRA adapter: write it as a GGUF adapter for this base model file")
	return c
}

type convertJSON struct {
	Output     string    `json:"output"`
	Family     string    `json:"family"`
	FileType   string    `json:"file_type"`
	Layers     int       `json:"layers"`
	Tensors    int       `json:"tensors"`
	InBytes    int64     `json:"in_bytes"`
	OutBytes   int64     `json:"out_bytes"`
	Seconds    float64   `json:"seconds"`
	Ignored    []string  `json:"ignored_tensors,omitempty"`
	TiedLMHead bool      `json:"tied_lm_head,omitempty"`
	PrefixLen  int       `json:"ptuning_prefix_length,omitempty"`
	LoRA       *loraJSON `json:"lora_merged,omitempty"`
}

type loraJSON struct {
	Rank    int      `json:"rank"`
	Alpha   float64  `json:"alpha"`
	Scale   float64  `json:"scale"`
	Targets []string `json:"target_modules"`
	Modules int      `json:"modules"`
}

func loraInfoJSON(l *convert.LoRAInfo) *loraJSON {
	if l == nil {
		return nil
	}
	return &loraJSON{Rank: l.Rank, Alpha: l.Alpha, Scale: l.Scale, Targets: l.Targets, Modules: l.Modules}
}

func writeConvertJSON(w io.Writer, out string, rep *convert.Report) error {
	return writeJSON(w, convertJSON{Output: out, Family: string(rep.Family), FileType: rep.FileType.String(), Layers: rep.Params.Blocks,
		Tensors: len(rep.Tensors), InBytes: rep.InBytes, OutBytes: rep.OutBytes, Seconds: rep.Duration.Seconds(), Ignored: rep.Ignored,
		TiedLMHead: rep.TiedLMHead, PrefixLen: rep.PrefixLen, LoRA: loraInfoJSON(rep.LoRA)}, false)
}

func renderConvertReport(w io.Writer, out string, rep *convert.Report) error {
	if rep.LoRA != nil && len(rep.Tensors) == 0 {
		l := rep.LoRA
		fmt.Fprintf(w, "wrote LoRA adapter %s for %s: rank %d, alpha %g (scale %g), %d layers (%s), %s in %.2f s\n", out, rep.Family,
			l.Rank, l.Alpha, l.Scale, l.Modules, strings.Join(l.Targets, ", "), formatBytes(rep.OutBytes), rep.Duration.Seconds())
		return nil
	}
	p := rep.Params
	row := []string{string(rep.Family), fmt.Sprint(p.Blocks), fmt.Sprint(p.Embedding), fmt.Sprintf("%d/%d", p.Heads, p.HeadsKV),
		fmt.Sprint(p.FeedForward), fmt.Sprint(p.Vocab), rep.FileType.String(), fmt.Sprint(len(rep.Tensors)),
		formatBytes(rep.InBytes), formatBytes(rep.OutBytes)}
	if err := writeTable(w, []string{"model", "layers", "hidden", "heads/kv", "ffn", "vocab", "type", "tensors", "read", "written"},
		[][]string{row}, nil); err != nil {
		return err
	}
	if len(rep.Ignored) > 0 {
		fmt.Fprintf(w, "skipped %d tensors the GGUF does not need (rotary inv_freq)\n", len(rep.Ignored))
	}
	if rep.PrefixLen > 0 {
		fmt.Fprintf(w, "stored a P-Tuning v2 prefix of %d slots\n", rep.PrefixLen)
	}
	if l := rep.LoRA; l != nil {
		fmt.Fprintf(w, "merged a LoRA adapter: rank %d, alpha %g (scale %g), %d layers (%s)\n", l.Rank, l.Alpha, l.Scale, l.Modules, strings.Join(l.Targets, ", "))
	}
	if rep.TiedLMHead {
		fmt.Fprintln(w, "lm_head equals the embedding: stored once")
	}
	mbps := 0.0
	if s := rep.Duration.Seconds(); s > 0 {
		mbps = float64(rep.InBytes) / 1e6 / s
	}
	if target, err := quantize.ParseTarget(rep.FileType.String()); err == nil {
		writeFallbackNote(w, target, rep.Tensors)
	}
	fmt.Fprintf(w, "wrote %s in %.2f s (%.0f MB/s)\n", out, rep.Duration.Seconds(), mbps)
	return nil
}

// checkLayers refuses --layers below 1 when it is given: 0 used to mean "all 28", so a typo built the
// whole model; leaving the flag out still gives the preset's real count.
func checkLayers(cmd *cobra.Command, layers int) error {
	if cmd.Flags().Changed("layers") && (layers < 1 || layers > 1024) {
		return usagef("--layers %d: want 1 or more (at most 1024); leave it out for the preset's real count", layers)
	}
	return nil
}
