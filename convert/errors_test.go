package convert

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/tensor"
)

// linkFixture makes a writable copy of a fixture folder: symlinks to every file, so a test can replace
// one file without copying the rest.
func linkFixture(t *testing.T, name string) string {
	src := fixtureDir(t, name)
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func replaceFile(t *testing.T, dir, name string, data []byte) {
	p := filepath.Join(dir, name)
	_ = os.Remove(p)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func editConfig(t *testing.T, dir string, edit func(map[string]any)) {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	edit(c)
	out, _ := json.Marshal(c)
	replaceFile(t, dir, "config.json", out)
}

func truncated(t *testing.T, dir, name string, keep float64) []byte {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data[:int(float64(len(data))*keep)]
}

// TestConvertErrors: each damaged checkpoint gives a clear error naming the problem and leaves no output.
func TestConvertErrors(t *testing.T) {
	tensors := []hfwrite.Tensor{{Name: "w", DType: "F16", Shape: []int64{2}, Fill: hfwrite.Data(make([]byte, 4))}}
	evilPickle := []byte("\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00lsq\x01\x85q\x02Rq\x03.")
	stackGlobal := []byte("\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.")
	cases := []struct {
		name  string
		setup func(t *testing.T) string
		want  string
	}{
		{"forbidden global", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm2-6b-tiny")
			p := filepath.Join(dir, "pytorch_model-00002-of-00002.bin")
			_ = os.Remove(p)
			if err := hfwrite.WriteTorchBin(p, tensors, hfwrite.TorchOptions{Pickle: evilPickle}); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "shard pytorch_model-00002-of-00002.bin: data.pkl: byte 3: forbidden global os.system"},
		{"forbidden global via STACK_GLOBAL", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm2-6b-tiny")
			p := filepath.Join(dir, "pytorch_model-00001-of-00002.bin")
			_ = os.Remove(p)
			if err := hfwrite.WriteTorchBin(p, tensors, hfwrite.TorchOptions{Pickle: stackGlobal}); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "forbidden global builtins.eval"},
		{"truncated safetensors shard", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm3-6b-tiny")
			replaceFile(t, dir, "model-00002-of-00002.safetensors", truncated(t, dir, "model-00002-of-00002.safetensors", 0.7))
			return dir
		}, "shard model-00002-of-00002.safetensors: safetensors header: tensor \"transformer.output_layer.weight\": data_offsets [111168, 6353472] run past the 4446962-byte data area"},
		{"truncated bin shard", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm2-6b-tiny")
			replaceFile(t, dir, "pytorch_model-00001-of-00002.bin", truncated(t, dir, "pytorch_model-00001-of-00002.bin", 0.6))
			return dir
		}, "shard pytorch_model-00001-of-00002.bin: not a PyTorch zip checkpoint"},
		{"missing shard", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm3-6b-tiny")
			_ = os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
			return dir
		}, "model.safetensors.index.json names shard model-00002-of-00002.safetensors, which is missing"},
		{"shape contradicts config", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm3-6b-tiny")
			editConfig(t, dir, func(c map[string]any) { c["ffn_hidden_size"] = 128 })
			return dir
		}, `shape [320 48], config.json says [256 48]`},
		{"tokenizer larger than vocabulary", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm2-6b-tiny")
			editConfig(t, dir, func(c map[string]any) { c["padded_vocab_size"] = 64000 })
			return dir
		}, "tokenizer tokenizer.model: 64794 tokens (64789 pieces + 5 special) do not fit the 64000 rows of the embedding in config.json"},
		{"config value of the wrong type", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm3-6b-tiny")
			editConfig(t, dir, func(c map[string]any) { c["hidden_size"] = "4096" })
			return dir
		}, `config.json: hidden_size: got a JSON string, want an integer`},
		{"unknown model type", func(t *testing.T) string {
			dir := linkFixture(t, "chatglm3-6b-tiny")
			editConfig(t, dir, func(c map[string]any) { c["model_type"] = "llama" })
			return dir
		}, `model_type "llama" is not supported; glmtool converts ChatGLM-6B, ChatGLM2-6B, ChatGLM3-6B and GLM-4-9B`},
		{"no weights", func(t *testing.T) string {
			dir := t.TempDir()
			src := fixtureDir(t, "chatglm3-6b-tiny")
			for _, n := range []string{"config.json", "tokenizer.model", "tokenizer_config.json"} {
				_ = os.Symlink(filepath.Join(src, n), filepath.Join(dir, n))
			}
			return dir
		}, "no weights found (want model.safetensors, pytorch_model.bin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.setup(t)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "out.gguf")
			_, err := Checkpoint(context.Background(), dir, out, Options{Threads: 2})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Fatalf("a failed conversion left %d files behind", len(entries))
			}
		})
	}
}

// TestQuantizedCheckpoint builds a THUDM-style int4 and int8 ChatGLM2 checkpoint (spec §7) and checks that
// convert dequantizes every weight exactly as the reference: w = q·scale, rounded to fp16.
func TestQuantizedCheckpoint(t *testing.T) {
	for _, bits := range []int{4, 8} {
		dir := t.TempDir()
		src := fixtureDir(t, "chatglm2-6b-tiny")
		for _, n := range []string{"tokenizer.model", "tokenizer_config.json"} {
			_ = os.Symlink(filepath.Join(src, n), filepath.Join(dir, n))
		}
		raw, _ := os.ReadFile(filepath.Join(src, "config.json"))
		var cfg map[string]any
		_ = json.Unmarshal(raw, &cfg)
		cfg["quantization_bit"] = bits
		cfg["num_layers"] = 1
		cfgBytes, _ := json.Marshal(cfg)
		replaceFile(t, dir, "config.json", cfgBytes)

		p, _ := (&hfConfig{}).paramsFromMap(t, cfg)
		var ts []hfwrite.Tensor
		codes := map[string][]int8{}
		scales := map[string][]float32{}
		for i, m := range tensorMaps(p) {
			hf := m.hf[0] // ChatGLM: one checkpoint tensor each
			if isQuantizedLinear(hf) {
				rows, cols := m.shape[0], m.shape[1]
				q := make([]int8, rows*cols)
				sc := make([]float32, rows)
				lim := int64(127)
				if bits == 4 {
					lim = 7
				}
				for k := range q {
					q[k] = int8((int64(k)*7+int64(i))%(2*lim+1) - lim)
				}
				for r := range sc {
					sc[r] = tensor.F16ToF32(tensor.F32ToF16(0.01 + 0.001*float32(r)))
				}
				codes[m.gguf], scales[m.gguf] = q, sc
				ts = append(ts, hfwrite.Tensor{Name: hf, DType: "I8", Shape: []int64{rows, cols * int64(bits) / 8}, Fill: hfwrite.Data(packCodes(q, bits))},
					hfwrite.Tensor{Name: hf + "_scale", DType: "F16", Shape: []int64{rows}, Fill: hfwrite.Data(f16Bytes(sc))})
				continue
			}
			n := int64(1)
			for _, d := range m.shape {
				n *= d
			}
			ts = append(ts, hfwrite.Tensor{Name: hf, DType: "F16", Shape: m.shape, Fill: hfwrite.Data(make([]byte, 2*n))})
		}
		if err := hfwrite.WriteSharded(dir, "pytorch", ts, 2); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "q.gguf")
		if _, err := Checkpoint(context.Background(), dir, out, Options{OutType: "f32", Threads: 2}); err != nil {
			t.Fatalf("int%d: %v", bits, err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		for name, q := range codes {
			info, _ := f.Tensor(name)
			got := make([]float32, info.Shape.Elements())
			_ = tensor.Dequantize(tensor.F32, f.Data(info), got)
			cols := int(info.Shape[0])
			for k, v := range got {
				want := tensor.F16ToF32(tensor.F32ToF16(float32(q[k]) * scales[name][k/cols]))
				if v != want {
					t.Fatalf("int%d %s[%d] = %g, want %g", bits, name, k, v, want)
				}
			}
		}
		f.Close()
	}
}

// paramsFromMap reads hyper-parameters from a config held as a map, as convert would from the file.
func (*hfConfig) paramsFromMap(t *testing.T, m map[string]any) (arch.Params, error) {
	raw, _ := json.Marshal(m)
	var c hfConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return paramsOf(&c, arch.FamilyChatGLM2)
}

// packCodes packs int8 codes as THUDM does: int8 as is; int4 with column 2j in the high nibble.
func packCodes(q []int8, bits int) []byte {
	if bits == 8 {
		out := make([]byte, len(q))
		for i, v := range q {
			out[i] = byte(v)
		}
		return out
	}
	out := make([]byte, len(q)/2)
	for j := range out {
		out[j] = byte(q[2*j])<<4 | byte(q[2*j+1])&0x0f
	}
	return out
}

func f16Bytes(xs []float32) []byte {
	out := make([]byte, 2*len(xs))
	for i, x := range xs {
		binary.LittleEndian.PutUint16(out[2*i:], tensor.F32ToF16(x))
	}
	return out
}

// TestSynthetic checks the real shapes and special ids of every preset (vocabulary only, no weights) and
// that weights are finite, deterministic for a seed and thread count independent (small shape).
func TestSynthetic(t *testing.T) {
	for name, p := range Presets {
		out := filepath.Join(t.TempDir(), "s.gguf")
		if _, err := Synthetic(context.Background(), out, SyntheticOptions{Preset: name, Options: Options{VocabOnly: true}}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		got, err := arch.ReadParams(f)
		if err != nil {
			t.Fatal(err)
		}
		if got.Vocab != p.Vocab || got.Blocks != p.Blocks || got.Embedding != p.Embedding || got.Family != p.Family {
			t.Errorf("%s: %+v", name, got)
		}
		toks, _ := f.Meta.Strings(arch.KeyTokens)
		stops, _ := f.Meta.Int32s(arch.KeyStopTokens)
		want := map[string][]string{"chatglm3-6b": {"[gMASK]", "sop", "<|user|>"}, "chatglm2-6b": {"[gMASK]", "sop", "[MASK]"},
			"glm4-9b": {"[gMASK]", "<sop>", "<|user|>"}, "chatglm-6b": {"[gMASK]", "<sop>", "<eop>"},
			"glm4-9b-0414": {"[gMASK]", "<sop>", "<|user|>"}, "glm-edge-1.5b": {"<|endoftext|>", "<|user|>", "<|assistant|>"}}[name]
		ids := map[string][]int{"chatglm3-6b": {64790, 64792, 64795}, "chatglm2-6b": {64790, 64792, 64789},
			"glm4-9b": {151331, 151333, 151336}, "chatglm-6b": {130001, 130004, 130005},
			"glm4-9b-0414": {151331, 151333, 151336}, "glm-edge-1.5b": {59246, 59253, 59254}}[name]
		for i, tok := range want {
			if toks[ids[i]] != tok {
				t.Errorf("%s: token %d is %q, want %q", name, ids[i], toks[ids[i]], tok)
			}
		}
		if len(stops) == 0 {
			t.Errorf("%s: no stop ids", name)
		}
		f.Close()
	}

	small := Presets["chatglm3-6b"]
	small.Embedding, small.FeedForward, small.Blocks, small.Heads, small.HeadsKV, small.RopeDims = 64, 96, 2, 4, 2, 8
	var files [][]byte
	for _, c := range []struct {
		seed    uint64
		threads int
	}{{7, 1}, {7, 3}, {8, 2}} {
		out := filepath.Join(t.TempDir(), "s.gguf")
		if _, err := syntheticModel(context.Background(), out, small, SyntheticOptions{Seed: c.seed, Options: Options{OutType: "f32", Threads: c.threads}}); err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(out)
		files = append(files, data)
		f, _ := gguf.Parse(out, data)
		for _, ti := range f.Tensors {
			vals := make([]float32, ti.Shape.Elements())
			_ = tensor.Dequantize(ti.Type, f.Data(&ti), vals)
			var sq float64
			for _, v := range vals {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s holds %g", ti.Name, v)
				}
				sq += float64(v) * float64(v)
			}
			if rms := math.Sqrt(sq / float64(len(vals))); rms == 0 || rms > 1.5 {
				t.Errorf("%s: rms %g", ti.Name, rms)
			}
		}
	}
	if string(files[0]) != string(files[1]) {
		t.Error("the same seed gave different files at 1 and 3 threads")
	}
	if string(files[0]) == string(files[2]) {
		t.Error("different seeds gave the same file")
	}
}
