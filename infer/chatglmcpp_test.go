package infer

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tensor"
)

// rawReader takes consecutive numpy tofile() arrays from a chatglm.cpp test data file.
type rawReader struct {
	t    *testing.T
	data []byte
}

func (r *rawReader) f32(n int) []float32 {
	if len(r.data) < 4*n {
		r.t.Fatalf("data file too short: want %d floats, %d bytes left", n, len(r.data))
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r.data[4*i:]))
	}
	r.data = r.data[4*n:]
	return out
}

func (r *rawReader) f16(n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = tensor.F16ToF32(binary.LittleEndian.Uint16(r.data[2*i:]))
	}
	r.data = r.data[2*n:]
	return out
}

func (r *rawReader) i32(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(r.data[4*i:]))
	}
	r.data = r.data[4*n:]
	return out
}

func f32Source(name string, shape tensor.Shape, vals []float32) gguf.TensorSource {
	return gguf.TensorSource{Name: name, Type: tensor.F32, Shape: shape, WriteTo: func(w io.Writer) error {
		buf := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
		}
		_, err := w.Write(buf)
		return err
	}}
}

// TestChatGLMCppModels runs chatglm.cpp's one-layer test models (its tests/data, made from the HF code):
// three calls sharing one KV cache, final hidden states within 5e-4, P-Tuning v2 prefixes included.
func TestChatGLMCppModels(t *testing.T) {
	cases := []struct {
		file    string
		family  arch.Family
		ptuning bool
	}{
		{"glm_model.data", arch.FamilyChatGLM1, false},
		{"glm_ptuning_v2_model.data", arch.FamilyChatGLM1, true},
		{"glm2_model.data", arch.FamilyChatGLM2, false},
		{"glm3_model.data", arch.FamilyChatGLM3, false},
		{"glm3_ptuning_v2_model.data", arch.FamilyChatGLM3, true},
		{"glm4_model.data", arch.FamilyGLM4, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(testenv.Path(t, "chatglmcpp", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r := &rawReader{t: t, data: data}
			v1 := c.family == arch.FamilyChatGLM1
			const vocab, e, heads = 5, 32, 8
			p := arch.Params{Family: c.family, ContextLength: 16, Embedding: e, Blocks: 1, Heads: heads, NormEpsilon: 1e-5,
				RopeDims: e / heads / 2, RopeFreqBase: 10000, Vocab: vocab}
			kvHeads := 2
			if v1 {
				p.FeedForward, p.HeadsKV, p.ResidualScale = 128, heads, float32(math.Sqrt(56))
				kvHeads = heads
			} else {
				p.FeedForward, p.HeadsKV = 48, 2
			}
			var prefix []float32
			if c.ptuning {
				prefix = r.f16(2 * kvHeads * 5 * 4)
			}
			qkv, up := int64(p.QKVRows()), int64(p.FFNUpRows())
			src := []gguf.TensorSource{f32Source(arch.TokenEmbd, tensor.Shape{e, vocab}, r.f32(vocab*e))}
			add := func(name string, shape tensor.Shape) {
				src = append(src, f32Source(name, shape, r.f32(int(shape.Elements()))))
			}
			add(arch.AttnNorm(0), tensor.Shape{e})
			if v1 {
				add(arch.AttnNormBias(0), tensor.Shape{e})
			}
			add(arch.AttnQKV(0), tensor.Shape{e, qkv})
			add(arch.AttnQKVBias(0), tensor.Shape{qkv})
			add(arch.AttnOutput(0), tensor.Shape{e, e})
			if v1 {
				add(arch.AttnOutputBias(0), tensor.Shape{e})
			}
			add(arch.FFNNorm(0), tensor.Shape{e})
			if v1 {
				add(arch.FFNNormBias(0), tensor.Shape{e})
			}
			add(arch.FFNUp(0), tensor.Shape{e, up})
			if v1 {
				add(arch.FFNUpBias(0), tensor.Shape{up})
			}
			add(arch.FFNDown(0), tensor.Shape{int64(p.FeedForward), e})
			if v1 {
				add(arch.FFNDownBias(0), tensor.Shape{e})
			}
			add(arch.OutputNorm, tensor.Shape{e})
			if v1 {
				add(arch.OutputNormBias, tensor.Shape{e})
			}
			src = append(src, f32Source(arch.Output, tensor.Shape{e, vocab}, make([]float32, e*vocab)))
			meta := gguf.NewMetadata(gguf.KV{Key: arch.KeyArchitecture, Value: gguf.String(c.family.Architecture())})
			p.Write(meta, tensor.FileF32)
			var buf bytes.Buffer
			if err := gguf.Write(context.Background(), &buf, meta, src); err != nil {
				t.Fatal(err)
			}
			f, err := gguf.Parse(c.file, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			m, err := FromFile(f, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.be.Close()
			s, err := m.NewSession(16, KVF32)
			if err != nil {
				t.Fatal(err)
			}
			if c.ptuning {
				// past_key_values [2, kv_heads, 5, head_dim] (keys, values) → 5 cache rows of [kv_heads·head_dim].
				hd := 4
				kv := func(which int) []float32 {
					out := make([]float32, 5*kvHeads*hd)
					for h := range kvHeads {
						for i := range 5 {
							copy(out[i*kvHeads*hd+h*hd:], prefix[((which*kvHeads+h)*5+i)*hd:][:hd])
						}
					}
					return out
				}
				if err := s.SetPrefix([][]float32{kv(0)}, [][]float32{kv(1)}); err != nil {
					t.Fatal(err)
				}
			}
			if v1 {
				s.SetV1Layout(1, 2) // prompt positions [[0,1,1],[0,0,1]]
			}
			for step, n := range []int{3, 1, 1} {
				x := r.i32(n)
				want := r.f32(n * e)
				got, err := s.Hidden(x, true)
				if err != nil {
					t.Fatal(err)
				}
				var worst float64
				for i := range n {
					for j := range e {
						worst = math.Max(worst, math.Abs(float64(got[i][j]-want[i*e+j])))
					}
				}
				if worst >= 5e-4 {
					t.Errorf("call %d: max |Δ hidden| = %.3g, want < 5e-4", step+1, worst)
				}
			}
			if len(r.data) != 0 {
				t.Errorf("%d bytes of the data file left unread", len(r.data))
			}
		})
	}
}
