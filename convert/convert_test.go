package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tensor"
)

var fixtures = []struct {
	dir    string
	family arch.Family
	layers int
	base   float32
	eps    float32
}{
	{"chatglm-6b-tiny", arch.FamilyChatGLM1, 2, 10000, 1e-5},
	{"chatglm2-6b-tiny", arch.FamilyChatGLM2, 2, 10000, 1e-5},
	{"chatglm3-6b-tiny", arch.FamilyChatGLM3, 3, 10000, 1e-5},
	{"glm-4-9b-chat-tiny", arch.FamilyGLM4, 2, 5e6, 1.5625e-07},
	{"glm-4-9b-0414-tiny", arch.FamilyGLM40414, 2, 10000, 1e-5},
	{"glm-edge-1.5b-chat-tiny", arch.FamilyGLMEdge, 2, 10000, 1e-5},
}

func fixtureDir(t *testing.T, dir string) string {
	return filepath.Join(testenv.TestData(t), "hf", dir)
}

// TestConvertFixtures converts every HF fixture to F32 and checks each tensor against its source, the
// hyper-parameters, and for the chatglm architecture exactly the tensors and shapes llama.cpp loads.
func TestConvertFixtures(t *testing.T) {
	for _, fx := range fixtures {
		t.Run(fx.dir, func(t *testing.T) {
			dir := fixtureDir(t, fx.dir)
			out := filepath.Join(t.TempDir(), "m.gguf")
			rep, err := Checkpoint(context.Background(), dir, out, Options{OutType: "f32", Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Open(out) // the foundation's full validation
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			p, err := arch.ReadParams(f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Family != fx.family || p.Blocks != fx.layers || p.Embedding != 48 || p.Heads != 4 || p.RopeFreqBase != fx.base || p.NormEpsilon != fx.eps {
				t.Errorf("params %+v", p)
			}
			w, err := OpenWeights(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for _, m := range tensorMaps(rep.Params) {
				info, ok := f.Tensor(m.gguf)
				if m.gguf == arch.Output && fx.family == arch.FamilyChatGLM1 {
					if ok || !rep.TiedLMHead {
						t.Errorf("v1 lm_head should be tied to the embedding and stored once")
					}
					continue
				}
				if !ok {
					t.Errorf("missing tensor %s", m.gguf)
					continue
				}
				// The GGUF tensor holds its checkpoint tensors' values one after another (q, k, v → QKV).
				var want []float32
				var rows int64
				for _, name := range m.hf {
					src, _ := w.Tensor(name)
					vals := make([]float32, src.Elements())
					src.DecodeRange(0, vals)
					want = append(want, vals...)
					rows += src.Shape[0]
				}
				if rs := info.Shape.RowMajor(); rs[0] != rows || info.Shape.Elements() != int64(len(want)) || info.Type != tensor.F32 {
					t.Errorf("%s: %s %v, sources of %d rows and %d values", m.gguf, info.Type, info.Shape, rows, len(want))
					continue
				}
				got := make([]float32, info.Shape.Elements())
				_ = tensor.Dequantize(tensor.F32, f.Data(info), got)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Errorf("%s[%d] = %g, source %g", m.gguf, i, got[i], want[i])
						break
					}
				}
			}
			if fx.family != arch.FamilyChatGLM1 {
				checkLlamaCppLayout(t, f, p)
			}
		})
	}
}

// checkLlamaCppLayout asserts gguf-and-quants §B: every key llama.cpp requires, and exactly the tensors
// it creates, with the shapes it checks at load.
func checkLlamaCppLayout(t *testing.T, f *gguf.File, p arch.Params) {
	t.Helper()
	k := arch.KeysFor(p.Family.Architecture())
	keys := []string{arch.KeyArchitecture, k.ContextLength(), k.EmbeddingLength(), k.BlockCount(), k.FeedForwardLength(),
		k.HeadCount(), k.HeadCountKV(), k.RMSEpsilon(), k.RopeDimensionCount(), k.RopeFreqBase(), arch.KeyEOS, arch.KeyAddBOS,
		arch.KeyChatTemplate, arch.KeyFileType}
	if f.Meta.Has(arch.KeyTokens) || p.Family == arch.FamilyChatGLM2 || p.Family == arch.FamilyChatGLM3 || p.Family == arch.FamilyGLM4 {
		keys = append(keys, arch.KeyTokenizerModel, arch.KeyTokenizerPre, arch.KeyTokens, arch.KeyTokenTypes)
	}
	if p.HeadDim()*p.Heads != p.Embedding {
		keys = append(keys, k.KeyLength(), k.ValueLength())
	}
	for _, key := range keys {
		if !f.Meta.Has(key) {
			t.Errorf("missing key %s", key)
		}
	}
	e, gqa, aw := int64(p.Embedding), int64(p.HeadsKV*p.HeadDim()), int64(p.Heads*p.HeadDim())
	want := map[string]tensor.Shape{arch.TokenEmbd: {e, int64(p.Vocab)}, arch.OutputNorm: {e}, arch.Output: {e, int64(p.Vocab)}}
	for l := range p.Blocks {
		want[arch.AttnNorm(l)] = tensor.Shape{e}
		want[arch.AttnQKV(l)] = tensor.Shape{e, aw + 2*gqa}
		want[arch.AttnQKVBias(l)] = tensor.Shape{aw + 2*gqa}
		want[arch.AttnOutput(l)] = tensor.Shape{aw, e}
		want[arch.FFNNorm(l)] = tensor.Shape{e}
		want[arch.FFNUp(l)] = tensor.Shape{e, 2 * int64(p.FeedForward)}
		want[arch.FFNDown(l)] = tensor.Shape{int64(p.FeedForward), e}
		if p.Family.Architecture() == arch.GLM4 {
			want[arch.AttnPostNorm(l)] = tensor.Shape{e}
			want[arch.FFNPostNorm(l)] = tensor.Shape{e}
		}
	}
	if len(f.Tensors) != len(want) {
		t.Errorf("%d tensors, llama.cpp expects exactly %d", len(f.Tensors), len(want))
	}
	for name, shape := range want {
		info, ok := f.Tensor(name)
		if !ok || !info.Shape.Equal(shape) {
			t.Errorf("tensor %s: %v, llama.cpp checks %v", name, info, shape)
		}
	}
	if add, err := f.Meta.Bool(arch.KeyAddBOS); err != nil || add {
		t.Errorf("add_bos_token = %v, %v; want false", add, err)
	}
}

func TestOutTypes(t *testing.T) {
	dir := fixtureDir(t, "chatglm3-6b-tiny")
	for _, c := range []struct {
		outType string
		w2, qkv tensor.Type
	}{{"f16", tensor.F16, tensor.F16}, {"bf16", tensor.BF16, tensor.BF16}, {"q8_0", tensor.Q8_0, tensor.Q8_0}, {"q4_k_m", tensor.Q6_K, tensor.Q5_K}} {
		out := filepath.Join(t.TempDir(), "m.gguf")
		if _, err := Checkpoint(context.Background(), dir, out, Options{OutType: c.outType, Threads: 3}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		out1, _ := f.Tensor(arch.Output)
		qkv, _ := f.Tensor(arch.AttnQKV(0))
		norm, _ := f.Tensor(arch.AttnNorm(0))
		bias, _ := f.Tensor(arch.AttnQKVBias(0))
		// 48-wide rows are not a multiple of 32/256: quantized types fall back as llama-quantize would.
		if c.outType == "f16" || c.outType == "bf16" {
			if out1.Type != c.w2 || qkv.Type != c.qkv {
				t.Errorf("%s: output %s qkv %s", c.outType, out1.Type, qkv.Type)
			}
		}
		if norm.Type != tensor.F32 || bias.Type != tensor.F32 {
			t.Errorf("%s: norm %s bias %s, want F32", c.outType, norm.Type, bias.Type)
		}
		ft, _ := f.Meta.Uint32(arch.KeyFileType)
		want, _ := map[string]tensor.FileType{"f16": 1, "bf16": 32, "q8_0": 7, "q4_k_m": 15}[c.outType]
		if tensor.FileType(ft) != want {
			t.Errorf("%s: file type %d", c.outType, ft)
		}
		f.Close()
	}
}

type tokVector struct {
	Model string  `json:"model"`
	Text  string  `json:"text"`
	IDs   []int32 `json:"ids"`
}

// TestStoredTokenizers checks that the vocabularies stored by convert hold what the 240 corpus vectors
// need: every id exists, the stored pieces decode back to the text, every multi-byte GLM-4 token used is
// the result of a merge (so llama.cpp's merge-based BPE can produce it), and SentencePiece scores are kept.
func TestStoredTokenizers(t *testing.T) {
	raw, err := os.ReadFile(testenv.Path(t, "tokenizer", "corpus_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors []tokVector
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"chatglm2-6b": "chatglm2-6b-tiny", "glm-4-9b-chat": "glm-4-9b-chat-tiny"}
	for model, dir := range files {
		out := filepath.Join(t.TempDir(), "v.gguf")
		if _, err := Checkpoint(context.Background(), fixtureDir(t, dir), out, Options{VocabOnly: true}); err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Tensors) != 0 {
			t.Errorf("%s: --vocab-only wrote %d tensors", model, len(f.Tensors))
		}
		tokens, _ := f.Meta.Strings(arch.KeyTokens)
		types, _ := f.Meta.Int32s(arch.KeyTokenTypes)
		merged := map[string]bool{}
		if merges, err := f.Meta.Strings(arch.KeyMerges); err == nil {
			for _, m := range merges {
				l, r, _ := strings.Cut(m, " ")
				merged[l+r] = true
			}
		}
		checked := 0
		for _, v := range vectors {
			if v.Model != model {
				continue
			}
			checked++
			var text string
			if model == "glm-4-9b-chat" {
				text = decodeGPT2(t, tokens, v.IDs)
				for _, id := range v.IDs {
					if len([]rune(tokens[id])) > 1 && !merged[tokens[id]] {
						t.Errorf("token %d %q is used by %q but no merge produces it", id, tokens[id], v.Text)
					}
				}
			} else {
				text = decodeSPM(tokens, types, v.IDs)
			}
			if text != v.Text {
				t.Errorf("%s: stored pieces of %v decode to %q, want %q", model, v.IDs, text, v.Text)
			}
		}
		if checked != 120 {
			t.Errorf("%s: %d vectors checked, want 120", model, checked)
		}
		if model == "chatglm2-6b" {
			scores, _ := f.Meta.Float32s(arch.KeyScores)
			data, _ := os.ReadFile(filepath.Join(fixtureDir(t, dir), "tokenizer.model"))
			sp, err := parseSPM(data)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range sp.Pieces {
				if scores[i] != p.Score || types[i] != p.Type {
					t.Fatalf("piece %d: score %g type %d, file has %g %d", i, scores[i], types[i], p.Score, p.Type)
				}
			}
			if tokens[64790] != "[gMASK]" || tokens[64792] != "sop" || tokens[3+10] != "<0x0A>" {
				t.Errorf("special or byte tokens misplaced: %q %q %q", tokens[64790], tokens[64792], tokens[13])
			}
		}
		f.Close()
	}
}

func decodeSPM(tokens []string, types []int32, ids []int32) string {
	var b []byte
	for _, id := range ids {
		if types[id] == arch.TokenByte {
			var x byte
			fmt.Sscanf(tokens[id], "<0x%02X>", &x)
			b = append(b, x)
			continue
		}
		b = append(b, strings.ReplaceAll(tokens[id], "▁", " ")...)
	}
	return strings.TrimPrefix(string(b), " ")
}

func decodeGPT2(t *testing.T, tokens []string, ids []int32) string {
	table := byteToUnicode()
	inv := map[rune]byte{}
	for b, r := range table {
		inv[r] = byte(b)
	}
	var out []byte
	for _, id := range ids {
		for _, r := range tokens[id] {
			b, ok := inv[r]
			if !ok {
				t.Fatalf("token %d %q has a rune outside the byte table", id, tokens[id])
			}
			out = append(out, b)
		}
	}
	return string(out)
}

// TestEveryFamilyHasALayout: each generation arch knows is read by exactly one Hugging Face layout, and
// every tensor of its registry has a checkpoint name there.
func TestEveryFamilyHasALayout(t *testing.T) {
	for _, f := range arch.Families {
		n := 0
		for _, l := range hfLayouts {
			for _, g := range l.families() {
				if g == f {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("%s is read by %d layouts, want 1", f, n)
		}
		p := Presets["chatglm3-6b"]
		p.Family, p.Blocks = f, 2
		for _, m := range tensorMaps(p) {
			if len(m.hf) == 0 {
				t.Errorf("%s: tensor %s has no checkpoint name", f, m.gguf)
			}
			for _, hf := range m.hf {
				if hf == "" || strings.Contains(hf, "%") {
					t.Errorf("%s: tensor %s has checkpoint name %q", f, m.gguf, hf)
				}
			}
		}
	}
}
