package cmd

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/quantize"
	"github.com/glmtool/glmtool/tensor"
)

type quantizeFlags struct {
	bits            int
	typ             string
	pure            bool
	outputType      string
	embdType        string
	allowRequantize bool
	threads         int
	stats           bool
	json            bool
}

func (a *app) quantizeCommand() *cobra.Command {
	var fl quantizeFlags
	c := &cobra.Command{
		Use:   "quantize IN.gguf OUT.gguf",
		Short: "Quantize an F32/F16/BF16 GGUF model (byte-identical to llama-quantize)",
		Long: `Quantize a GGUF model to a smaller tensor type. Per-tensor types follow llama-quantize's rules:
output.weight becomes Q6_K, 1-D tensors and norms stay F32, K-quants fall back when a row is not a multiple
of 256, and Q4_K_M/Q5_K_M give more bits to some layers. The bytes written equal llama-quantize's.

Types: ` + quantize.TargetNames() + `.
The output is written to a temporary file and renamed when complete; the input is never modified.`,
		Example: `  glmtool quantize --bits 4 chatglm3-6b-f16.gguf chatglm3-6b-q4_0.gguf
  glmtool quantize --type q4_k_m --threads 8 model-f16.gguf model-q4_k_m.gguf
  glmtool quantize --type q8_0 --pure --stats model-f16.gguf model-q8_0.gguf`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runQuantize(cmd, args[0], args[1], fl)
		},
	}
	f := c.Flags()
	f.IntVar(&fl.bits, "bits", 0, "4 (Q4_0) or 8 (Q8_0); shorthand for --type")
	f.StringVar(&fl.typ, "type", "", "target type: "+quantize.TargetNames())
	f.BoolVar(&fl.pure, "pure", false, "use the target type for every eligible tensor (no per-tensor rules)")
	f.StringVar(&fl.outputType, "output-type", "", "type for output.weight (e.g. q8_0, f16)")
	f.StringVar(&fl.embdType, "embd-type", "", "type for token_embd.weight")
	f.BoolVar(&fl.allowRequantize, "allow-requantize", false, "allow an input whose tensors are already quantized")
	f.IntVarP(&fl.threads, "threads", "t", runtime.NumCPU(), "worker threads (output is identical for any value)")
	f.BoolVar(&fl.stats, "stats", false, "report per-tensor RMSE and max absolute error against the source")
	f.BoolVar(&fl.json, "json", false, "print the report as JSON instead of tables")
	return c
}

func (fl quantizeFlags) options() (quantize.Options, error) {
	var opt quantize.Options
	switch {
	case fl.bits != 0 && fl.typ != "":
		return opt, usagef("give --bits or --type, not both")
	case fl.bits == 4:
		fl.typ = "q4_0"
	case fl.bits == 8:
		fl.typ = "q8_0"
	case fl.bits != 0:
		return opt, usagef("--bits %d: want 4 or 8 (or use --type)", fl.bits)
	case fl.typ == "":
		return opt, usagef("choose a target with --bits 4|8 or --type (%s)", quantize.TargetNames())
	}
	t, err := quantize.ParseTarget(fl.typ)
	if err != nil {
		return opt, usageError{err}
	}
	opt.Target, opt.Pure, opt.AllowRequantize = t, fl.pure, fl.allowRequantize
	for _, o := range []struct {
		flag, val string
		dst       **tensor.Type
	}{{"--output-type", fl.outputType, &opt.OutputType}, {"--embd-type", fl.embdType, &opt.EmbdType}} {
		if o.val == "" {
			continue
		}
		typ, err := tensor.ParseType(o.val)
		if err != nil || !tensor.CanQuantize(typ) {
			return opt, usagef("%s %q: not a type glmtool can write", o.flag, o.val)
		}
		*o.dst = &typ
	}
	if fl.threads < 1 {
		return opt, usagef("--threads must be at least 1")
	}
	return opt, nil
}

func (a *app) runQuantize(cmd *cobra.Command, inPath, outPath string, fl quantizeFlags) error {
	opt, err := fl.options()
	if err != nil {
		return err
	}
	if err := quantize.Check(inPath, outPath); err != nil {
		return err
	}
	a.removeStaleTemps(outPath)
	in, err := gguf.Open(inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	bar := newProgress(a.stderr, in.TensorBytes(), "quantize")
	run := quantize.RunOptions{Threads: fl.threads, Stats: fl.stats}
	if bar != nil {
		run.Progress = func(done int64) { _ = bar.Set64(done) }
	}
	rep, err := quantize.File(cmd.Context(), in, outPath, opt, run)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	if fl.json {
		return writeQuantizeJSON(a.stdout, inPath, outPath, opt, rep, fl)
	}
	return renderQuantizeReport(a.stdout, outPath, opt, rep, fl.stats)
}

type quantizeJSON struct {
	Input         string              `json:"input"`
	Output        string              `json:"output"`
	Type          string              `json:"type"`
	FileType      uint32              `json:"file_type"`
	Threads       int                 `json:"threads"`
	InBytes       int64               `json:"in_bytes"`
	OutBytes      int64               `json:"out_bytes"`
	BitsPerWeight float64             `json:"bits_per_weight"`
	Seconds       float64             `json:"seconds"`
	MBPerSecond   float64             `json:"mb_per_second"`
	Tensors       []quantizeTensorOut `json:"tensors"`
}

type quantizeTensorOut struct {
	Name     string   `json:"name"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Shape    []int64  `json:"shape"`
	Bytes    int64    `json:"bytes"`
	Fallback bool     `json:"fallback,omitempty"`
	RMSE     *float64 `json:"rmse,omitempty"`
	MaxAbs   *float64 `json:"max_abs_err,omitempty"`
}

func writeQuantizeJSON(w io.Writer, in, out string, opt quantize.Options, rep *quantize.Report, fl quantizeFlags) error {
	j := quantizeJSON{Input: in, Output: out, Type: opt.Target.Name, FileType: uint32(opt.Target.FileType), Threads: fl.threads,
		InBytes: rep.InBytes, OutBytes: rep.OutBytes, BitsPerWeight: bitsPerWeight(rep.OutBytes, rep.Elements),
		Seconds: rep.Duration.Seconds(), MBPerSecond: mbPerSecond(rep)}
	for _, t := range rep.Tensors {
		o := quantizeTensorOut{Name: t.Name, From: t.From.String(), To: t.To.String(), Shape: t.Shape, Bytes: t.OutBytes, Fallback: t.Fallback}
		if fl.stats && t.Requantize() {
			o.RMSE, o.MaxAbs = &t.RMSE, &t.MaxAbsErr
		}
		j.Tensors = append(j.Tensors, o)
	}
	return writeJSON(w, j, false)
}

func bitsPerWeight(bytes, elements int64) float64 {
	if elements == 0 {
		return 0
	}
	return float64(bytes*8) / float64(elements)
}

func mbPerSecond(rep *quantize.Report) float64 {
	if rep.Duration <= 0 {
		return 0
	}
	return float64(rep.InBytes) / 1e6 / rep.Duration.Seconds()
}

func renderQuantizeReport(w io.Writer, outPath string, opt quantize.Options, rep *quantize.Report, stats bool) error {
	if stats {
		var rows [][]string
		for _, t := range rep.Tensors {
			if t.Requantize() {
				rows = append(rows, []string{t.Name, t.From.String(), t.To.String(), t.Shape.String(), fmt.Sprintf("%.3e", t.RMSE), fmt.Sprintf("%.3e", t.MaxAbsErr)})
			}
		}
		if err := writeTable(w, []string{"tensor", "from", "to", "shape", "rmse", "max abs err"}, rows, nil); err != nil {
			return err
		}
	}
	type agg struct {
		n           int
		in, out, el int64
	}
	byType := map[tensor.Type]*agg{}
	for _, t := range rep.Tensors {
		g := byType[t.To]
		if g == nil {
			g = &agg{}
			byType[t.To] = g
		}
		g.n++
		g.in += t.InBytes
		g.out += t.OutBytes
		g.el += t.Shape.Elements()
	}
	types := make([]tensor.Type, 0, len(byType))
	for t := range byType {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return types[i] < types[j] })
	var rows [][]string
	for _, t := range types {
		g := byType[t]
		rows = append(rows, []string{t.String(), fmt.Sprint(g.n), formatBytes(g.in), formatBytes(g.out), fmt.Sprintf("%.2f", bitsPerWeight(g.out, g.el))})
	}
	footer := []string{"total", fmt.Sprint(len(rep.Tensors)), formatBytes(rep.InBytes), formatBytes(rep.OutBytes), fmt.Sprintf("%.2f", bitsPerWeight(rep.OutBytes, rep.Elements))}
	if err := writeTable(w, []string{"type", "tensors", "before", "after", "bits/weight"}, rows, footer); err != nil {
		return err
	}
	writeFallbackNote(w, opt.Target, rep.Tensors)
	fmt.Fprintf(w, "wrote %s (%s) in %.2f s, %.0f MB/s\n", outPath, opt.Target.FileType, rep.Duration.Seconds(), mbPerSecond(rep))
	return nil
}

// writeFallbackNote says which tensors did not get the type asked for because their rows do not divide
// into its blocks (llama-quantize's fallback types), so that a mostly-F16 "Q4_0" file is no surprise.
func writeFallbackNote(w io.Writer, target quantize.Target, tensors []quantize.TensorReport) {
	var names []string
	for _, t := range tensors {
		if t.Fallback {
			names = append(names, fmt.Sprintf("%s (rows of %d: %s)", t.Name, t.Shape[0], t.To))
		}
	}
	if len(names) == 0 {
		return
	}
	n, shown := len(names), names[:min(4, len(names))]
	list := strings.Join(shown, ", ")
	if n > len(shown) {
		list += fmt.Sprintf(" and %d more", n-len(shown))
	}
	fmt.Fprintf(w, "note: %d tensors got a fallback type instead of %s, as their row length is not a multiple of its block size: %s\n",
		n, target.Name, list)
}
