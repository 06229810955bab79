package cmd

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nlpodyssey/safetensors"
	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/atomicfile"
	"github.com/glmtool/glmtool/tokenizer"
)

type runFlags struct {
	modelFlags
	prompt      string
	file        string
	system      string
	raw         bool
	json        bool
	promptIDs   string
	idsFile     string
	logitsOut   string
	topLogprobs int
	ignoreEOS   bool
}

func (a *app) runCommand() *cobra.Command {
	var fl runFlags
	c := &cobra.Command{
		Use:   "run -m MODEL.gguf --prompt TEXT",
		Short: "Generate a reply to one prompt, streaming it to stdout",
		Long: `Generate a reply with a GGUF model on the CPU. The prompt goes through the model's chat format
(ChatGLM-6B and ChatGLM2-6B rounds, ChatGLM3-6B and GLM-4 roles) unless --raw is given. Tokens are printed as
they come, never splitting a character. --prompt - reads the prompt from stdin.

For scripts and verification, --prompt-ids feeds token ids exactly as given (no template, no special
tokens), --json reports ids, text, stop reason and timings, --logits-out saves the logits of every step and
--top-logprobs K lists the most likely tokens per step.`,
		Example: `  glmtool run -m chatglm3-6b-q4_0.gguf --prompt "你好"
  glmtool run -m glm4.gguf --system "Answer briefly." --prompt "What is GGUF?" --temp 0
  echo "Summarise: ..." | glmtool run -m model.gguf --prompt -
  glmtool run -m model.gguf --prompt-ids 64790,64792,36474,54591 --temp 0 -n 9 --ignore-eos --json --logits-out steps.safetensors`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRun(cmd, &fl) },
	}
	fl.register(c)
	f := c.Flags()
	f.StringVarP(&fl.prompt, "prompt", "p", "", "the prompt text; - reads stdin")
	f.StringVarP(&fl.file, "file", "f", "", "read the prompt from a file")
	f.StringVar(&fl.system, "system", "", "system prompt (ChatGLM3, GLM-4)")
	f.BoolVar(&fl.raw, "raw", false, "skip the chat template: the text is encoded as is, with the model's prefix tokens")
	f.BoolVar(&fl.json, "json", false, "print one JSON object with ids, text, stop reason and timings")
	f.StringVar(&fl.promptIDs, "prompt-ids", "", "token ids to feed as is, comma-separated (no template, no special tokens)")
	f.StringVar(&fl.idsFile, "prompt-ids-file", "", "read token ids (comma or whitespace separated) from a file")
	f.StringVar(&fl.logitsOut, "logits-out", "", "write the logits of every step to FILE.safetensors (float32 [steps, vocab] and int32 ids)")
	f.IntVar(&fl.topLogprobs, "top-logprobs", 0, "with --json: the K most likely ids and their log-probs at every step")
	f.BoolVar(&fl.ignoreEOS, "ignore-eos", false, "keep generating past stop tokens (exactly --max-tokens steps)")
	return c
}

// runJSON is the --json output; its fields are documented in README.md.
type runJSON struct {
	Text            *string    `json:"text,omitempty"`
	PromptIDs       []int32    `json:"prompt_ids"`
	GeneratedIDs    []int32    `json:"generated_ids"`
	PromptTokens    int        `json:"prompt_tokens"`
	GeneratedTokens int        `json:"generated_tokens"`
	StopReason      string     `json:"stop_reason"`
	Seed            uint64     `json:"seed"`
	Timings         runTimings `json:"timings"`
	PeakRSSBytes    int64      `json:"peak_rss_bytes"`
	Backend         string     `json:"backend"`
	// VRAMBytes is what the model holds in GPU memory (weights, KV cache, scratch); null on the CPU.
	VRAMBytes   *int64        `json:"vram_bytes"`
	TopLogprobs [][]idLogprob `json:"top_logprobs,omitempty"`
}

type runTimings struct {
	PromptMS       float64 `json:"prompt_ms"`
	GenerateMS     float64 `json:"generate_ms"`
	PromptPerSec   float64 `json:"prompt_tokens_per_second"`
	GeneratePerSec float64 `json:"generate_tokens_per_second"`
}

type idLogprob struct {
	ID      int32   `json:"id"`
	Logprob float32 `json:"logprob"`
	Piece   string  `json:"piece,omitempty"`
}

func (a *app) runRun(cmd *cobra.Command, fl *runFlags) error {
	if fl.topLogprobs < 0 {
		return usagef("--top-logprobs must be 0 or more")
	}
	sources := 0
	for _, s := range []string{fl.prompt, fl.file, fl.promptIDs, fl.idsFile} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 {
		return usagef("give exactly one of --prompt, --file, --prompt-ids and --prompt-ids-file")
	}
	m, s, err := fl.load()
	if err != nil {
		return err
	}
	defer m.Close()
	prompt, err := a.buildPrompt(m, s.Context(), fl)
	if err != nil {
		return err
	}
	if m.Tok == nil && fl.promptIDs == "" && fl.idsFile == "" {
		return errNoTokenizer(fl.model, "encode a text prompt")
	}
	var dec *tokenizer.Decoder
	var post *tokenizer.PostProcessor
	out := bufio.NewWriter(a.stdout)
	var text strings.Builder
	if m.Tok != nil {
		dec = m.Tok.NewDecoder()
		post = tokenizer.NewPostProcessor(m.Params.Family)
		if fl.promptIDs != "" || fl.idsFile != "" || fl.raw {
			post = tokenizer.NewPostProcessor("") // raw ids and raw text are not chat replies
		}
	}
	var logitRows [][]float32
	var tops [][]idLogprob
	sampler := fl.sampler(m)
	opt := infer.GenerateOptions{MaxTokens: fl.maxTok, Stops: m.Stops, IgnoreEOS: fl.ignoreEOS, Sampler: sampler,
		OnToken: func(id int32) bool {
			if dec != nil {
				piece := post.Write(string(dec.Next(id)))
				text.WriteString(piece)
				if !fl.json {
					out.WriteString(piece)
					out.Flush()
				}
			}
			return true
		}}
	if fl.logitsOut != "" || fl.topLogprobs > 0 {
		opt.OnLogits = func(step int, logits []float32) {
			if fl.logitsOut != "" {
				logitRows = append(logitRows, append([]float32(nil), logits...))
			}
			if fl.topLogprobs > 0 {
				tops = append(tops, topK(m, infer.LogSoftmax(logits), fl.topLogprobs))
			}
		}
	}
	res, err := s.Generate(cmd.Context(), prompt, opt)
	if err != nil {
		return err
	}
	if dec != nil {
		tail := post.Write(string(dec.Flush())) + post.Flush()
		text.WriteString(tail)
		if !fl.json {
			out.WriteString(tail + "\n")
		}
	}
	if fl.logitsOut != "" && cmd.Context().Err() == nil { // an interrupted run writes no output file
		// A stop id ends the generation before it is appended, but its logits row is the last one seen.
		rows := logitRows[:min(len(logitRows), len(res.Generated))]
		if err := writeLogits(cmd, fl.logitsOut, rows, res.Generated[:len(rows)]); err != nil {
			return err
		}
	}
	if fl.json {
		j := runJSON{PromptIDs: prompt, GeneratedIDs: res.Generated, PromptTokens: len(prompt), GeneratedTokens: len(res.Generated),
			StopReason: res.StopReason, Seed: sampler.Seed(), Timings: timings(res), PeakRSSBytes: peakRSS(), TopLogprobs: tops,
			Backend: m.Backend()}
		if v, ok := m.VRAM(); ok {
			j.VRAMBytes = &v.Held
		}
		if j.GeneratedIDs == nil {
			j.GeneratedIDs = []int32{}
		}
		if m.Tok != nil {
			t := text.String()
			j.Text = &t
		}
		if err := writeJSON(out, j, true); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if a.verbose {
		t := timings(res)
		fmt.Fprintf(a.stderr, "\nmodel: %s (%s), %d threads, seed %d\nprompt: %d tokens in %.0f ms (%.2f t/s)\ngenerate: %d tokens in %.0f ms (%.2f t/s), stop: %s\npeak RSS: %s\n",
			fl.model, describeModel(m), m.Threads(), sampler.Seed(), len(prompt), t.PromptMS, t.PromptPerSec, len(res.Generated), t.GenerateMS, t.GeneratePerSec, res.StopReason, formatBytes(peakRSS()))
		if v, ok := m.VRAM(); ok {
			fmt.Fprintf(a.stderr, "VRAM: %s held by glmtool (weights %s, KV cache %s, scratch %s; peak %s)\n", formatBytes(v.Held),
				formatBytes(v.Weights), formatBytes(v.KV), formatBytes(v.Scratch), formatBytes(v.Peak))
			fmt.Fprintf(a.stderr, "device free: %s before load, %s after load, %s after the first evaluation, %s now, of %s\n",
				formatBytes(int64(v.FreeAtStart)), formatBytes(int64(v.FreeLoaded)), formatBytes(int64(v.FreeFirstEval)), formatBytes(int64(v.Free)), formatBytes(int64(v.Total)))
		}
	}
	// What was generated before Ctrl-C or SIGTERM is printed above; the exit code still says interrupted.
	return cmd.Context().Err()
}

func timings(res *infer.Result) runTimings {
	t := runTimings{PromptMS: ms(res.PromptTime), GenerateMS: ms(res.GenTime)}
	if res.PromptTime > 0 {
		t.PromptPerSec = float64(res.PromptN) / res.PromptTime.Seconds()
	}
	if res.GenTime > 0 && len(res.Generated) > 0 {
		t.GeneratePerSec = float64(len(res.Generated)) / res.GenTime.Seconds()
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func topK(m *infer.Model, lp []float32, k int) []idLogprob {
	idx := make([]int, len(lp))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lp[idx[a]] > lp[idx[b]] })
	out := make([]idLogprob, 0, k)
	for _, i := range idx[:min(k, len(idx))] {
		e := idLogprob{ID: int32(i), Logprob: lp[i]}
		if m.Tok != nil {
			e.Piece = m.Tok.Piece(int32(i))
		}
		out = append(out, e)
	}
	return out
}

// buildPrompt returns the prompt ids from whichever source was given.
func (a *app) buildPrompt(m *infer.Model, ctx int, fl *runFlags) ([]int32, error) {
	if fl.promptIDs != "" || fl.idsFile != "" {
		text, name := fl.promptIDs, "--prompt-ids"
		if fl.idsFile != "" {
			data, err := os.ReadFile(fl.idsFile)
			if err != nil {
				return nil, err
			}
			text, name = string(data), fl.idsFile
		}
		return parseIDs(text, name, m.Params.Vocab, ctx)
	}
	text := fl.prompt
	switch {
	case fl.file != "":
		data, err := os.ReadFile(fl.file)
		if err != nil {
			return nil, err
		}
		text = string(data)
	case fl.prompt == "-":
		data, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		text = string(data)
	}
	if m.Tok == nil {
		return nil, errNoTokenizer(fl.model, "encode a text prompt")
	}
	if fl.raw {
		if fl.system != "" {
			return nil, usagef("--system needs the chat template; drop --raw")
		}
		return m.Tok.EncodeWithSpecials(text)
	}
	var msgs []tokenizer.Message
	if fl.system != "" {
		if !m.Tok.SupportsRoles() {
			return nil, usagef("%s has no system role (ChatGLM3 and GLM-4 have)", m.Params.Family)
		}
		msgs = append(msgs, tokenizer.Message{Role: "system", Content: fl.system})
	}
	msgs = append(msgs, tokenizer.Message{Role: "user", Content: text})
	return m.Tok.ChatPrompt(msgs)
}

// parseIDs reads ids separated by commas or whitespace and checks them against the vocabulary and context.
func parseIDs(text, name string, vocab, ctx int) ([]int32, error) {
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	if len(fields) == 0 {
		return nil, usagef("%s: the id list is empty", name)
	}
	if len(fields) > ctx {
		return nil, usagef("%s: %d ids do not fit the context of %d tokens (raise --ctx)", name, len(fields), ctx)
	}
	ids := make([]int32, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, usagef("%s: item %d %q is not a token id", name, i+1, f)
		}
		if v < 0 || v >= int64(vocab) {
			return nil, usagef("%s: id %d is outside the vocabulary (0 to %d)", name, v, vocab-1)
		}
		ids[i] = int32(v)
	}
	return ids, nil
}

// writeLogits stores float32 logits [steps, vocab] and int32 ids [steps] as safetensors, atomically.
func writeLogits(cmd *cobra.Command, path string, rows [][]float32, ids []int32) error {
	vocab := 0
	if len(rows) > 0 {
		vocab = len(rows[0])
	}
	logits := make([]byte, 0, 4*len(rows)*vocab)
	for _, r := range rows {
		for _, v := range r {
			logits = binary.LittleEndian.AppendUint32(logits, math.Float32bits(v))
		}
	}
	idBytes := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		idBytes = binary.LittleEndian.AppendUint32(idBytes, uint32(id))
	}
	lv, err := safetensors.NewTensorView(safetensors.F32, []uint64{uint64(len(rows)), uint64(vocab)}, logits)
	if err != nil {
		return err
	}
	iv, err := safetensors.NewTensorView(safetensors.I32, []uint64{uint64(len(ids))}, idBytes)
	if err != nil {
		return err
	}
	return atomicfile.Write(cmd.Context(), path, func(w io.Writer) error {
		return safetensors.SerializeToWriter(map[string]safetensors.TensorView{"logits": lv, "ids": iv}, map[string]string{"format": "pt"}, w)
	})
}
