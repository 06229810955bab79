package cmd

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/bench"
	"github.com/glmtool/glmtool/convert"
)

type benchFlags struct {
	models    []string
	synthetic string
	typ       string
	layers    int
	prompts   string
	gens      string
	pg        string
	depths    string
	parallel  string
	threads   string
	reps      int
	dev       deviceFlags
	ctx       int
	output    string
	kvType    string
	mmap      bool
	loras     []string
	bwSize    int64
	plot      string
	wide      bool
}

func (a *app) benchCommand() *cobra.Command {
	var fl benchFlags
	c := &cobra.Command{
		Use:   "bench -m MODEL.gguf [-m MODEL2.gguf ...] | --synthetic PRESET [--type T]",
		Short: "Measure prompt and generation speed, memory, and the share of the memory-bandwidth limit",
		Long: `Benchmark models as llama-bench does: pp (prompt processing) and tg (token generation) tests,
after a warm-up that is not counted, repeated -r times (mean ± sd). Lists take comma-separated values and
the run covers their product. The memory bandwidth is measured in the same run (streaming a buffer), and
each generation test reports the bytes a token reads and its share of that bandwidth ("roofline").

--synthetic PRESET builds a random-weight model of the real shape first (in a temporary folder), so no
download is needed. Output formats: table (default), md, csv, json, jsonl.`,
		Example: `  glmtool bench --synthetic chatglm3-6b --type q4_0 -p 512 -n 128 -t 2
  glmtool bench -m a-q4_0.gguf -m a-q8_0.gguf -p 64,256 -n 32 -r 3 -o md
  glmtool bench -m model.gguf -o json > run.json
  glmtool bench -m model.gguf -p 0 -n 32 -d 0,4096 (generation with 4096 tokens already in the cache)
  glmtool bench -m model.gguf -p 0 -n 32 --parallel 1,4 (four sequences decoded in one batch)`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runBench(cmd, &fl) },
	}
	f := c.Flags()
	f.StringArrayVarP(&fl.models, "model", "m", nil, "GGUF model file (repeatable)")
	f.StringVar(&fl.synthetic, "synthetic", "", "benchmark a random-weight model of a real shape: "+convert.PresetNames())
	f.StringVar(&fl.typ, "type", "q4_0", "with --synthetic: the tensor type (f16, q8_0, q4_0, q4_k_m, ...)")
	f.IntVar(&fl.layers, "layers", 0, "with --synthetic: number of layers (default: the real count)")
	f.StringVarP(&fl.prompts, "n-prompt", "p", "512", "prompt lengths for pp tests (comma-separated; 0 for none)")
	f.StringVarP(&fl.gens, "n-gen", "n", "128", "generation lengths for tg tests (comma-separated; 0 for none)")
	f.StringVar(&fl.pg, "pg", "", "combined tests PROMPT,GEN (e.g. 512,128)")
	f.StringVarP(&fl.depths, "depth", "d", "0", "tokens already in the KV cache before each test (comma-separated; llama-bench's -d), filled once and not timed")
	f.StringVar(&fl.parallel, "parallel", "1", "sequences generated together in tg tests (comma-separated; llama-batched-bench's -npl): one batched decode step a token, as a server's concurrent streams; t/s counts all of them")
	f.StringVarP(&fl.threads, "threads", "t", strconv.Itoa(physicalCores()), "thread counts (comma-separated)")
	f.IntVarP(&fl.reps, "repetitions", "r", 1, "repetitions per test")
	f.StringVar(&fl.dev.device, "device", "cpu", deviceUsage)
	f.IntVar(&fl.dev.gpuLayers, "gpu-layers", -1, gpuLayersUsage)
	f.IntVarP(&fl.ctx, "ctx", "c", 0, "context size (default: what the largest test needs)")
	f.StringVarP(&fl.output, "output", "o", "table", "output format: table, md, csv, json, jsonl")
	f.StringVar(&fl.kvType, "kv-type", "f16", "KV cache type: f16, f32 (exact), q8_0 or q4_0 (about half and a quarter of f16's memory)")
	f.BoolVar(&fl.mmap, "mmap", false, mmapUsage)
	f.StringArrayVar(&fl.loras, "lora", nil, loraUsage)
	f.Int64Var(&fl.bwSize, "bandwidth-bytes", 2<<30, "size of the buffer streamed to measure memory bandwidth")
	f.BoolVar(&fl.wide, "wide", false, "table and md: every column (size, params, backend, kernels, VRAM, bytes/token, bandwidth), not the compact set")
	f.StringVar(&fl.plot, "plot", "", "also draw t/s against prompt/generation length to this PNG (one line per model and test kind)")
	return c
}

func parseInts(s, flag string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil || v < 0 {
			return nil, usagef("%s: %q is not a count", flag, f)
		}
		out = append(out, v)
	}
	return out, nil
}

func (fl *benchFlags) tests() ([]bench.Test, error) {
	ps, err := parseInts(fl.prompts, "-p")
	if err != nil {
		return nil, err
	}
	ns, err := parseInts(fl.gens, "-n")
	if err != nil {
		return nil, err
	}
	var tests []bench.Test
	for _, p := range ps {
		if p > 0 {
			tests = append(tests, bench.Test{Prompt: p})
		}
	}
	np, err := parseInts(fl.parallel, "--parallel")
	if err != nil {
		return nil, err
	}
	if len(np) == 0 {
		np = []int{1}
	}
	if slices.Contains(np, 0) {
		return nil, usagef("--parallel: sequence counts must be at least 1")
	}
	for _, n := range ns {
		for _, p := range np {
			if n > 0 {
				tests = append(tests, bench.Test{Gen: n, Parallel: p})
			}
		}
	}
	if fl.pg != "" {
		v, err := parseInts(fl.pg, "--pg")
		if err != nil || len(v) != 2 || v[0] == 0 || v[1] == 0 {
			return nil, usagef("--pg wants PROMPT,GEN, both positive")
		}
		tests = append(tests, bench.Test{Prompt: v[0], Gen: v[1]})
	}
	if len(tests) == 0 {
		return nil, usagef("no tests: give -p, -n or --pg")
	}
	ds, err := parseInts(fl.depths, "-d")
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		ds = []int{0}
	}
	var out []bench.Test
	for _, d := range ds {
		for _, t := range tests {
			t.Depth = d
			if err := t.Check(); err != nil {
				return nil, usagef("%v", err)
			}
			out = append(out, t)
		}
	}
	return out, nil
}

func (a *app) runBench(cmd *cobra.Command, fl *benchFlags) error {
	tests, err := fl.tests()
	if err != nil {
		return err
	}
	threads, err := parseInts(fl.threads, "-t")
	if err != nil {
		return err
	}
	for _, t := range threads {
		if t < 1 {
			return usagef("-t: thread counts must be at least 1")
		}
	}
	switch fl.output {
	case "table", "md", "csv", "json", "jsonl":
	default:
		return usagef("-o %q: want table, md, csv, json or jsonl", fl.output)
	}
	if err := fl.dev.check(cmd.Flags().Changed); err != nil {
		return err
	}
	kv, err := parseKVType(fl.kvType)
	if err != nil {
		return err
	}
	models := fl.models
	if err := checkLayers(cmd, fl.layers); err != nil {
		return err
	}
	if fl.synthetic != "" {
		dir, err := os.MkdirTemp("", "glmtool-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, fmt.Sprintf("synthetic-%s-%s.gguf", fl.synthetic, fl.typ))
		fmt.Fprintf(a.stderr, "building %s ...\n", filepath.Base(path))
		if _, err := convert.Synthetic(cmd.Context(), path, convert.SyntheticOptions{Preset: fl.synthetic, Layers: fl.layers, Seed: 1,
			Options: convert.Options{OutType: fl.typ, Threads: max(threads[0], 1)}}); err != nil {
			return err
		}
		models = append(models, path)
	}
	if len(models) == 0 {
		return usagef("give -m MODEL.gguf or --synthetic PRESET")
	}
	loras, err := parseLoRAs(fl.loras)
	if err != nil {
		return err
	}
	opt := bench.Options{Tests: tests, Threads: threads, Repetitions: fl.reps, Ctx: fl.ctx, KV: kv, Mmap: fl.mmap, LoRA: loras}
	if fl.dev.device != "cpu" {
		opt.DeviceBandwidthBytes = fl.bwSize
		dev, stderr := fl.dev, cmd.ErrOrStderr()
		// --device auto and --gpu-layers go by the first model's size and blocks.
		opt.NewBackend = func(threads int) (backend.Backend, error) { return dev.open(models[0], threads, stderr) }
	}
	total := int64(len(models) * len(threads) * len(tests) * max(1, fl.reps))
	if bar := newCountProgress(a.stderr, total, "bench"); bar != nil {
		opt.Progress = func(what string) {
			bar.Describe(what)
			if !strings.HasPrefix(what, "measuring") {
				_ = bar.Add(1)
			}
		}
		defer bar.Finish()
	}
	var results []bench.Result
	for _, m := range models {
		resetPeakRSS() // each model's peak, not the process's
		r, err := bench.Run(cmd.Context(), m, opt, peakRSS)
		if err != nil {
			return err
		}
		results = append(results, r...)
	}
	// The bandwidth is measured last, so that its buffer never counts in a model's peak RSS.
	if opt.Progress != nil {
		opt.Progress("measuring memory bandwidth")
	}
	k, err := kernels.Default()
	if err != nil {
		return err
	}
	bench.SetBandwidth(results, bench.Bandwidth(k, fl.bwSize, max(threads[len(threads)-1], physicalCores())))
	if fl.plot != "" {
		if err := bench.Plot(results, fl.plot); err != nil {
			return err
		}
	}
	return writeBench(a.stdout, fl.output, fl.wide, results)
}

// The table and md outputs show a compact set of columns that fits 100 columns; --wide shows all of
// them. Values the whole run shares (the kernels, the measured bandwidth) are said once, above the table.
var (
	benchCompact = []string{"model", "type", "threads", "test", "t/s", "peak RSS", "roofline"}
	benchWide    = []string{"model", "type", "size", "params", "backend", "kernels", "threads", "test", "t/s", "peak RSS", "VRAM",
		"bytes/token", "bandwidth", "roofline"}
)

// benchCells is every column's text for one result.
func benchCells(r bench.Result, wide bool) map[string]string {
	roof := "-"
	if r.RooflinePct != nil {
		roof = fmt.Sprintf("%.1f %%", *r.RooflinePct)
	}
	tps := fmt.Sprintf("%.2f", r.TokensPerSec)
	if r.Repetitions > 1 { // one sample has no spread to show
		tps = fmt.Sprintf("%.2f ± %.2f", r.TokensPerSec, r.TokensPerSecSD)
	}
	model := r.Model
	if !wide {
		model = truncate(model, 24)
	}
	vram := "-"
	if r.VRAMBytes != nil {
		vram = formatBytes(*r.VRAMBytes)
	}
	return map[string]string{"model": model, "type": r.Type, "size": formatBytes(r.SizeBytes), "params": formatCount(r.Parameters),
		"backend": r.Backend, "kernels": r.Kernels, "threads": strconv.Itoa(r.Threads), "test": r.Test, "t/s": tps,
		"peak RSS": formatBytes(r.PeakRSSBytes), "VRAM": vram, "bytes/token": formatBytes(r.BytesPerToken),
		"bandwidth": fmt.Sprintf("%.1f GB/s", r.BandwidthBps/1e9), "roofline": roof}
}

func benchRows(results []bench.Result, wide bool) ([]string, [][]string) {
	cols := benchCompact
	if wide {
		cols = benchWide
	}
	rows := make([][]string, len(results))
	for i, r := range results {
		cells := benchCells(r, wide)
		for _, c := range cols {
			rows[i] = append(rows[i], cells[c])
		}
	}
	return cols, rows
}

// benchCSVHeader names the CSV columns: every field of the JSON rows but the per-sample list, in order.
var benchCSVHeader = []string{"model", "architecture", "family", "type", "size_bytes", "parameters", "backend", "kernels", "threads",
	"test", "n_prompt", "n_gen", "n_depth", "n_parallel", "repetitions", "tokens_per_second", "tokens_per_second_sd", "peak_rss_bytes", "vram_bytes",
	"bytes_per_token", "bandwidth_bytes_per_second", "roofline_percent"}

func benchCSVRow(r bench.Result) []string {
	opt := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', 2, 64)
	}
	vram := ""
	if r.VRAMBytes != nil {
		vram = strconv.FormatInt(*r.VRAMBytes, 10)
	}
	return []string{r.Model, r.Architecture, r.Family, r.Type, strconv.FormatInt(r.SizeBytes, 10), strconv.FormatInt(r.Parameters, 10),
		r.Backend, r.Kernels, strconv.Itoa(r.Threads), r.Test, strconv.Itoa(r.PromptTokens), strconv.Itoa(r.GenTokens),
		strconv.Itoa(r.Depth), strconv.Itoa(r.Parallel), strconv.Itoa(r.Repetitions), strconv.FormatFloat(r.TokensPerSec, 'f', 3, 64), strconv.FormatFloat(r.TokensPerSecSD, 'f', 3, 64),
		strconv.FormatInt(r.PeakRSSBytes, 10), vram, strconv.FormatInt(r.BytesPerToken, 10), strconv.FormatFloat(r.BandwidthBps, 'f', 0, 64),
		opt(r.RooflinePct)}
}

// benchPreamble says what every row shares, once: the backend and kernel set, and the bandwidth the
// roofline column divides by.
func benchPreamble(w io.Writer, results []bench.Result) {
	if len(results) == 0 {
		return
	}
	r := results[0]
	fmt.Fprintf(w, "%s backend, %s kernels, memory bandwidth %.1f GB/s (measured in this run)\n", r.Backend, r.Kernels, r.BandwidthBps/1e9)
}

func writeBench(w io.Writer, format string, wide bool, results []bench.Result) error {
	switch format {
	case "json":
		return writeJSON(w, results, false)
	case "jsonl":
		for _, r := range results {
			if err := writeJSON(w, r, true); err != nil {
				return err
			}
		}
		return nil
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write(benchCSVHeader)
		for _, r := range results {
			_ = cw.Write(benchCSVRow(r))
		}
		cw.Flush()
		return cw.Error()
	case "md":
		cols, rows := benchRows(results, wide)
		benchPreamble(w, results)
		fmt.Fprintf(w, "\n| %s |\n|%s\n", strings.Join(cols, " | "), strings.Repeat(" --- |", len(cols)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return nil
	}
	cols, rows := benchRows(results, wide)
	benchPreamble(w, results)
	return writeTable(w, cols, rows, nil)
}
