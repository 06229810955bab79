package cmd

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nlpodyssey/safetensors"

	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tensor"
)

// buildBinary compiles glmtool once per test into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "glmtool")
	cmd := exec.Command("go", "build", "-o", bin, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func convertF32(t *testing.T, name string) string {
	out := filepath.Join(t.TempDir(), name+".gguf")
	if _, err := convert.Checkpoint(context.Background(), filepath.Join(testenv.TestData(t), "hf", name), out, convert.Options{OutType: "f32", Threads: 2}); err != nil {
		t.Fatal(err)
	}
	return out
}

func readF32Tensor(t *testing.T, path, name string) ([]float32, []uint64) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		t.Fatal(err)
	}
	tv, ok := st.Tensor(name)
	if !ok {
		t.Fatalf("%s has no tensor %s", path, name)
	}
	b := tv.Data()
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, tv.Shape()
}

// goldenIDs are a fixture golden's prompt and greedy ids.
type goldenIDs struct {
	PromptIDs  []int32 `json:"prompt_ids"`
	Generation struct {
		GreedyIDs []int32 `json:"greedy_ids"`
	} `json:"generation"`
}

// readGoldenIDs reads dir/golden.json.
func readGoldenIDs(t *testing.T, dir string) goldenIDs {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g goldenIDs
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestRunTokenLevelGolden is issue 10's acceptance check, through the built binary: prompt ids in, greedy
// ids and per-step logits out, equal to the reference implementation's.
func TestRunTokenLevelGolden(t *testing.T) {
	bin := buildBinary(t)
	for _, name := range []string{"chatglm-6b-tiny", "chatglm2-6b-tiny", "chatglm3-6b-tiny", "glm-4-9b-chat-tiny", "glm-4-9b-0414-tiny", "glm-edge-1.5b-chat-tiny"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(testenv.TestData(t), "hf", name)
			g := readGoldenIDs(t, dir)
			model := convertF32(t, name)
			logitsOut := filepath.Join(t.TempDir(), "out.safetensors")
			ids := make([]string, len(g.PromptIDs))
			for i, id := range g.PromptIDs {
				ids[i] = jsonInt(int(id))
			}
			cmd := exec.Command(bin, "run", "-m", model, "--prompt-ids", strings.Join(ids, ","), "--temp", "0", "--max-tokens", "9",
				"--ignore-eos", "--kv-type", "f32", "--json", "--logits-out", logitsOut, "--threads", "2")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			var res struct {
				PromptIDs    []int32 `json:"prompt_ids"`
				GeneratedIDs []int32 `json:"generated_ids"`
				StopReason   string  `json:"stop_reason"`
				Text         *string `json:"text"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if !slices.Equal(res.GeneratedIDs, g.Generation.GreedyIDs) || !slices.Equal(res.PromptIDs, g.PromptIDs) || res.StopReason != "length" {
				t.Fatalf("generated %v (%s), want %v", res.GeneratedIDs, res.StopReason, g.Generation.GreedyIDs)
			}
			// The ChatGLM-6B, GLM-4-0414 and GLM-Edge fixtures have no tokenizer file.
			noTokenizer := name == "chatglm-6b-tiny" || name == "glm-4-9b-0414-tiny" || name == "glm-edge-1.5b-chat-tiny"
			if noTokenizer != (res.Text == nil) {
				t.Errorf("text present = %v; the fixture has a tokenizer: %v", res.Text != nil, !noTokenizer)
			}
			got, shape := readF32Tensor(t, logitsOut, "logits")
			want, wantShape := readF32Tensor(t, filepath.Join(dir, "golden.safetensors"), "logits")
			if !slices.Equal(shape, wantShape) {
				t.Fatalf("logits shape %v, want %v", shape, wantShape)
			}
			var worst float64
			for i := range got {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 1e-3 {
				t.Errorf("max |Δ logits| = %g, want ≤ 1e-3", worst)
			}
			idsOut, _ := readF32Tensor(t, logitsOut, "ids") // int32 bits
			for i, v := range idsOut {
				if int32(math.Float32bits(v)) != g.Generation.GreedyIDs[i] {
					t.Errorf("ids[%d] in the logits file = %d", i, int32(math.Float32bits(v)))
				}
			}
		})
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRunErrors(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	dir := t.TempDir()
	// A file of an unknown architecture, and one with a tensor missing / of the wrong shape.
	f, err := gguf.Open(model)
	if err != nil {
		t.Fatal(err)
	}
	unknown := filepath.Join(dir, "llama.gguf")
	meta := f.Meta.Clone()
	meta.Set("general.architecture", gguf.String("llama"))
	if err := gguf.WriteFile(context.Background(), unknown, meta, f.Sources()); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.gguf")
	src := f.Sources()
	var kept []gguf.TensorSource
	for _, s := range src {
		if s.Name != "blk.1.ffn_down.weight" {
			kept = append(kept, s)
		}
	}
	if err := gguf.WriteFile(context.Background(), missing, f.Meta, kept); err != nil {
		t.Fatal(err)
	}
	// Wrong shape: blk.0.attn_output.weight declared [48, 24] instead of [48, 48]; and NaN weights.
	wrong := filepath.Join(dir, "wrong.gguf")
	nan := filepath.Join(dir, "nan.gguf")
	var reshaped, poisoned []gguf.TensorSource
	for _, s := range src {
		r, p := s, s
		if s.Name == "blk.0.attn_output.weight" {
			r.Shape = tensor.Shape{48, 24}
			r.WriteTo = func(w io.Writer) error { _, err := w.Write(make([]byte, 48*24*4)); return err }
		}
		if s.Name == "output_norm.weight" {
			p.WriteTo = func(w io.Writer) error {
				b := make([]byte, 4*48)
				for i := 0; i < len(b); i += 4 {
					binary.LittleEndian.PutUint32(b[i:], 0x7fc00000)
				}
				_, err := w.Write(b)
				return err
			}
		}
		reshaped, poisoned = append(reshaped, r), append(poisoned, p)
	}
	if err := gguf.WriteFile(context.Background(), wrong, f.Meta, reshaped); err != nil {
		t.Fatal(err)
	}
	if err := gguf.WriteFile(context.Background(), nan, f.Meta, poisoned); err != nil {
		t.Fatal(err)
	}
	f.Close()
	idsFile := filepath.Join(dir, "ids.txt")
	writeFile(t, idsFile, []byte("64790 64792\n36474,54591\n"))
	long := strings.Repeat("你好", 300)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "-m", unknown, "--prompt", "hi"}, ExitFailure, `architecture "llama" is not supported`},
		{[]string{"run", "-m", missing, "--prompt", "hi"}, ExitFailure, "tensor blk.1.ffn_down.weight is missing"},
		{[]string{"run", "-m", wrong, "--prompt", "hi"}, ExitFailure, "tensor blk.0.attn_output.weight has shape [48, 24], want [48, 48]"},
		{[]string{"run", "-m", nan, "--prompt", "hi"}, ExitFailure, "are not finite (NaN or Inf)"},
		{[]string{"run", "-m", model, "--prompt", long}, ExitFailure, "the context holds 256"},
		{[]string{"run", "-m", model, "--prompt-ids", "64790,x,3"}, ExitUsage, `--prompt-ids: item 2 "x" is not a token id`},
		{[]string{"run", "-m", model, "--prompt-ids", "64790,65024"}, ExitUsage, "--prompt-ids: id 65024 is outside the vocabulary (0 to 65023)"},
		{[]string{"run", "-m", model, "--prompt-ids", " , "}, ExitUsage, "--prompt-ids: the id list is empty"},
		{[]string{"run", "-m", model, "--ctx", "4", "--prompt-ids", "1,2,3,4,5"}, ExitUsage, "--prompt-ids: 5 ids do not fit the context of 4 tokens"},
		{[]string{"run", "-m", model}, ExitUsage, "give exactly one of --prompt"},
		{[]string{"run", "-m", model, "--prompt", "x", "--kv-type", "q8"}, ExitUsage, `--kv-type "q8": want f16, f32, q8_0 or q4_0`},
		{[]string{"run", "-m", model, "--prompt", "x", "--ctx", "100000"}, ExitUsage, "larger than the model's maximum of 256"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d %q, want %d with %q", c.args[3:], code, stderr, c.code, c.msg)
		}
	}
	code, stdout, stderr := runCLI(t, "run", "-m", model, "--prompt-ids-file", idsFile, "--temp", "0", "-n", "2", "--json")
	if code != ExitOK || !strings.Contains(stdout, `"prompt_ids":[64790,64792,36474,54591]`) {
		t.Errorf("--prompt-ids-file: exit %d %s %s", code, stdout, stderr)
	}
}

// TestRunAndChat drives run (text, stdin, --json) and chat (piped stdin, /clear) on a tiny model.
func TestRunAndChat(t *testing.T) {
	model := convertF32(t, "glm-4-9b-chat-tiny")
	code, out1, stderr := runCLI(t, "run", "-m", model, "--prompt", "你好", "--temp", "0", "-n", "6", "--seed", "3")
	if code != ExitOK || out1 == "" {
		t.Fatalf("run: exit %d %s", code, stderr)
	}
	// Greedy output is deterministic, across thread counts too.
	code, out2, _ := runCLI(t, "run", "-m", model, "--prompt", "你好", "--temp", "0", "-n", "6", "--threads", "1")
	if code != ExitOK || out1 != out2 {
		t.Errorf("greedy output differs between runs: %q vs %q", out1, out2)
	}
	// Sampling is reproducible with a seed.
	_, s1, _ := runCLI(t, "run", "-m", model, "--prompt", "你好", "--temp", "0.9", "-n", "8", "--seed", "42", "--json")
	_, s2, _ := runCLI(t, "run", "-m", model, "--prompt", "你好", "--temp", "0.9", "-n", "8", "--seed", "42", "--json")
	var j1, j2 struct {
		GeneratedIDs []int32 `json:"generated_ids"`
	}
	_ = json.Unmarshal([]byte(s1), &j1)
	_ = json.Unmarshal([]byte(s2), &j2)
	if len(j1.GeneratedIDs) == 0 || !slices.Equal(j1.GeneratedIDs, j2.GeneratedIDs) {
		t.Errorf("seeded sampling is not reproducible: %v vs %v", j1.GeneratedIDs, j2.GeneratedIDs)
	}
	var buf, notes strings.Builder
	a := &app{stdout: &buf, stderr: &notes, stdin: strings.NewReader("你好\n/clear\n再见\n")}
	if code := a.run(context.Background(), []string{"chat", "-m", model, "-n", "4", "--temp", "0"}); code != ExitOK {
		t.Fatalf("chat: exit %d: %s", code, buf.String())
	}
	if lines := strings.Count(buf.String(), "\n"); lines != 2 {
		t.Errorf("chat over a pipe printed %d lines, want one per message:\n%s", lines, buf.String())
	}
	if !strings.Contains(notes.String(), "(conversation cleared)") {
		t.Errorf("/clear was not confirmed on stderr: %q", notes.String())
	}
	if strings.Contains(buf.String(), "> ") {
		t.Errorf("chat decorated a piped session: %q", buf.String())
	}
	// A small context fills after a few turns: the oldest turns are dropped and the chat goes on.
	buf.Reset()
	lines := strings.Repeat("请介绍一下你自己，并说说你能做什么。\n", 12)
	a = &app{stdout: &buf, stderr: &buf, stdin: strings.NewReader(lines)}
	if code := a.run(context.Background(), []string{"chat", "-m", model, "-n", "8", "--temp", "0", "--ctx", "96"}); code != ExitOK {
		t.Fatalf("chat with a full context: exit %d: %s", code, buf.String())
	}
	if n := strings.Count(buf.String(), "\n"); n != 12 {
		t.Errorf("%d replies, want 12", n)
	}
}

// TestChatInterruptStopsReply: an interrupt during a reply stops that reply only; the chat goes on with the
// next line (this is the handler the SIGINT loop in Execute calls).
func TestChatInterruptStopsReply(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	out := &lockedBuffer{}
	a := &app{stdout: out, stderr: out, stdin: strings.NewReader("你好\n再见\n")}
	done := make(chan int, 1)
	go func() {
		done <- a.run(context.Background(), []string{"chat", "-m", model, "-n", "200", "--temp", "0", "--ctx", "256"})
	}()
	// Interrupt the first reply as soon as it is under way.
	var stop func() bool
	for stop = a.interruptHandler(); stop == nil; stop = a.interruptHandler() {
		select {
		case code := <-done:
			t.Fatalf("chat ended (exit %d) before a reply started: %s", code, out.String())
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if !stop() {
		t.Fatal("the chat's interrupt handler did not take the signal")
	}
	if code := <-done; code != ExitOK {
		t.Fatalf("chat exit %d: %s", code, out.String())
	}
	if got := out.String(); !strings.Contains(got, "[stopped]") || strings.Count(got, "\n") != 2 {
		t.Errorf("want a stopped first reply and a second reply:\n%s", got)
	}
}

// lockedBuffer is a strings.Builder safe for the chat goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestChatLlamaCppFiles: files written by llama.cpp (no glmtool.family) chat with their own family's
// template: the ChatGLM3 and GLM-4 fixtures with roles, and a ChatGLM2-style file (the ChatGLM3 fixture
// without role tokens) with ChatGLM2's [Round N] format.
func TestChatLlamaCppFiles(t *testing.T) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	src, err := gguf.Open(filepath.Join(dir, "chatglm3-tiny-Q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	meta := src.Meta.Clone()
	toks, _ := meta.Strings("tokenizer.ggml.tokens")
	toks = slices.Clone(toks)
	for i, s := range toks {
		if strings.HasPrefix(s, "<|") && strings.HasSuffix(s, "|>") {
			toks[i] = "[unused]"
		}
	}
	meta.Set("tokenizer.ggml.tokens", gguf.Array(toks))
	meta.Delete("tokenizer.chat_template")
	v2 := filepath.Join(t.TempDir(), "chatglm2-style.gguf")
	if err := gguf.WriteFile(context.Background(), v2, meta, src.Sources()); err != nil {
		t.Fatal(err)
	}
	src.Close()
	for _, c := range []struct{ file, family string }{
		{filepath.Join(dir, "chatglm3-tiny-Q8_0.gguf"), "chatglm3"},
		{filepath.Join(dir, "glm4-tiny-bpe-Q8_0.gguf"), "glm4"},
		{v2, "chatglm2"},
	} {
		var out, notes strings.Builder
		a := &app{stdout: &out, stderr: &notes, stdin: strings.NewReader("你好\n再见\n")}
		if code := a.run(context.Background(), []string{"chat", "-m", c.file, "-n", "3", "--temp", "0"}); code != ExitOK {
			t.Errorf("%s: chat exit %d: %s", filepath.Base(c.file), code, notes.String())
			continue
		}
		if n := strings.Count(out.String(), "\n"); n != 2 {
			t.Errorf("%s: %d replies, want 2:\n%s", filepath.Base(c.file), n, out.String())
		}
		code, stdout, stderr := runCLI(t, "run", "-m", c.file, "--prompt", "你好", "-n", "2", "--temp", "0", "--json")
		var res struct {
			PromptIDs []int32 `json:"prompt_ids"`
		}
		if code != ExitOK || json.Unmarshal([]byte(stdout), &res) != nil {
			t.Fatalf("%s: run: exit %d %s", filepath.Base(c.file), code, stderr)
		}
		// The prompt's ids show the template: roles for ChatGLM3/GLM-4, "[Round 1]" text for ChatGLM2.
		f, _ := gguf.Open(c.file)
		all, _ := f.Meta.Strings("tokenizer.ggml.tokens")
		f.Close()
		var pieces []string
		for _, id := range res.PromptIDs {
			pieces = append(pieces, all[id])
		}
		joined := strings.Join(pieces, "")
		if hasRole := strings.Contains(joined, "<|user|>"); hasRole != (c.family != "chatglm2") || (c.family == "chatglm2" && !strings.Contains(joined, "ound")) /* R is a byte token here */ {
			t.Errorf("%s (%s): prompt pieces %q", filepath.Base(c.file), c.family, pieces)
		}
	}
}
