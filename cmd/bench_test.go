package cmd

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestBenchJSONSchema runs bench on a converted fixture and checks every documented JSON field.
func TestBenchJSONSchema(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	code, out, stderr := runCLI(t, "bench", "-m", model, "-p", "8", "-n", "4", "--pg", "8,4", "-r", "2", "-t", "1,2",
		"--bandwidth-bytes", "67108864", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(rows) != 6 {
		t.Fatalf("%d rows, want 3 tests × 2 thread counts", len(rows))
	}
	fields := []string{"model", "architecture", "family", "type", "size_bytes", "parameters", "backend", "kernels", "threads", "test",
		"n_prompt", "n_gen", "n_depth", "n_parallel", "repetitions", "tokens_per_second", "tokens_per_second_sd", "samples_tokens_per_second",
		"peak_rss_bytes", "vram_bytes", "bytes_per_token", "bandwidth_bytes_per_second", "roofline_percent"}
	var tests []string
	for _, r := range rows {
		for _, f := range fields {
			if _, ok := r[f]; !ok {
				t.Errorf("row lacks %q", f)
			}
		}
		if len(r) != len(fields) {
			t.Errorf("row has %d fields, the documented schema %d: %v", len(r), len(fields), r)
		}
		tests = append(tests, r["test"].(string))
		if r["tokens_per_second"].(float64) <= 0 || r["bandwidth_bytes_per_second"].(float64) <= 0 || r["peak_rss_bytes"].(float64) <= 0 {
			t.Errorf("implausible measurements: %v", r)
		}
		if (r["n_prompt"].(float64) == 0) == (r["roofline_percent"] == nil) {
			t.Errorf("roofline must be set exactly for generation tests: %v", r)
		}
		if r["family"] != "chatglm3" || r["backend"] != "CPU" || r["vram_bytes"] != nil {
			t.Errorf("row %v", r)
		}
	}
	if !slices.Equal(tests, []string{"pp8", "tg4", "pp8+tg4", "pp8", "tg4", "pp8+tg4"}) {
		t.Errorf("tests %v", tests)
	}
	// -d: the same tests with tokens already in the cache.
	code, out, stderr = runCLI(t, "bench", "-m", model, "-p", "8", "-n", "4", "-d", "0,16", "-t", "1", "--bandwidth-bytes", "16777216", "-o", "json")
	if code != ExitOK {
		t.Fatalf("-d: exit %d: %s", code, stderr)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("-d: not JSON: %v", err)
	}
	var depthTests []string
	for _, r := range rows {
		depthTests = append(depthTests, fmt.Sprintf("%s/%v", r["test"], r["n_depth"]))
	}
	if !slices.Equal(depthTests, []string{"pp8/0", "tg4/0", "pp8 @ d16/16", "tg4 @ d16/16"}) {
		t.Errorf("-d 0,16: tests %v", depthTests)
	}
	// --parallel: tg tests of several sequences decoded together, their tokens all counted.
	code, out, stderr = runCLI(t, "bench", "-m", model, "-p", "0", "-n", "4", "--parallel", "1,3", "-t", "1", "--bandwidth-bytes", "16777216", "-o", "json")
	if code != ExitOK {
		t.Fatalf("--parallel: exit %d: %s", code, stderr)
	}
	rows = nil
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("--parallel: not JSON: %v", err)
	}
	var parTests []string
	for _, r := range rows {
		parTests = append(parTests, fmt.Sprintf("%s/%v", r["test"], r["n_parallel"]))
		if r["roofline_percent"] == nil || r["tokens_per_second"].(float64) <= 0 {
			t.Errorf("--parallel: row %v", r)
		}
	}
	if !slices.Equal(parTests, []string{"tg4/1", "tg4 x3/3"}) {
		t.Errorf("--parallel 1,3: tests %v", parTests)
	}
	for _, format := range []string{"table", "md", "csv", "jsonl"} {
		code, out, stderr := runCLI(t, "bench", "-m", model, "-p", "8", "-n", "0", "-t", "1", "--bandwidth-bytes", "16777216", "-o", format)
		if code != ExitOK || !strings.Contains(out, "pp8") {
			t.Errorf("-o %s: exit %d %s %s", format, code, out, stderr)
		}
	}
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"bench", "-m", model, "-p", "0", "-n", "0"}, "no tests"},
		{[]string{"bench", "-m", model, "-o", "xml"}, `-o "xml"`},
		{[]string{"bench", "-m", model, "-n", "4", "--parallel", "0"}, "at least 1"},
		{[]string{"bench", "-m", model, "-n", "4", "--parallel", "2", "-d", "8"}, "without -d"},
		{[]string{"bench", "-p", "8"}, "give -m MODEL.gguf or --synthetic"},
		{[]string{"bench", "-m", model, "--device", "tpu"}, "want cpu, cuda or auto"},
	} {
		if code, _, stderr := runCLI(t, c.args...); code != ExitUsage || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q", c.args, code, stderr)
		}
	}
}

// TestBenchPlot: --plot writes a valid PNG.
func TestBenchPlot(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	out := filepath.Join(t.TempDir(), "speed.png")
	code, _, stderr := runCLI(t, "bench", "-m", model, "-p", "8,16", "-n", "4,8", "-t", "1", "--bandwidth-bytes", "16777216", "--plot", out)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	both := img.Bounds()
	if both.Dx() < 800 || both.Dy() < 300 {
		t.Errorf("two panels in only %v", both)
	}
	// One length per test: bars, with the spread of -r 2; pp alone: one panel.
	for _, args := range [][]string{{"-p", "8", "-n", "4", "-r", "2"}, {"-p", "8,16", "-n", "0"}} {
		path := filepath.Join(t.TempDir(), "p.png")
		code, _, stderr := runCLI(t, append([]string{"bench", "-m", model, "-t", "1", "--bandwidth-bytes", "16777216", "--plot", path}, args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%v: not a PNG: %v", args, err)
		}
		if b := img.Bounds(); args[3] == "0" && b.Dx() >= both.Dx() {
			t.Errorf("pp only: %v, want one panel, narrower than %v", b, both)
		}
	}
}

// TestBenchOutputs: the default table fits 100 columns with the run's kernels and bandwidth said once
// above it, the sd shows only with repetitions, --wide has every column, and the CSV has every JSON field
// but the sample list.
func TestBenchOutputs(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	args := []string{"bench", "-m", model, "-p", "8", "-n", "4", "-t", "1", "--bandwidth-bytes", "16777216"}
	code, out, stderr := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if line := widestLine(out); utf8.RuneCountInString(line) > 100 {
		t.Errorf("a %d-column line in the default table: %s", utf8.RuneCountInString(line), line)
	}
	if !strings.Contains(out, "kernels, memory bandwidth") || strings.Contains(out, "±") {
		t.Errorf("default table (-r 1):\n%s", out)
	}
	_, out, _ = runCLI(t, append(args, "-r", "2")...)
	if !strings.Contains(out, "±") {
		t.Errorf("-r 2 shows no spread:\n%s", out)
	}
	_, out, _ = runCLI(t, append(args, "--wide")...)
	for _, col := range []string{"kernels", "bytes/token", "bandwidth", "params"} {
		if !strings.Contains(strings.SplitN(out, "\n", 3)[1], col) {
			t.Errorf("--wide lacks the %s column:\n%s", col, out)
		}
	}
	_, out, _ = runCLI(t, append(args, "-o", "csv")...)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	want := []string{"model", "architecture", "family", "type", "size_bytes", "parameters", "backend", "kernels", "threads", "test",
		"n_prompt", "n_gen", "n_depth", "n_parallel", "repetitions", "tokens_per_second", "tokens_per_second_sd", "peak_rss_bytes", "vram_bytes",
		"bytes_per_token", "bandwidth_bytes_per_second", "roofline_percent"}
	if !slices.Equal(recs[0], want) {
		t.Errorf("csv header %v", recs[0])
	}
	if row := recs[1]; row[1] != "chatglm" || row[2] != "chatglm3" || row[7] == "" || row[10] != "8" || row[11] != "0" {
		t.Errorf("csv row %v", row)
	}
}
