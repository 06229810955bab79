package convert

import (
	"path/filepath"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

func TestOpenFixtureCheckpoints(t *testing.T) {
	cases := []struct {
		dir     string
		format  string
		tensors int
		dtype   DType
		probe   string
		shape   []int64
	}{
		{"chatglm-6b-tiny", "pytorch", 2*13 + 4, F16, "transformer.layers.1.attention.query_key_value.weight", []int64{144, 48}},
		{"chatglm2-6b-tiny", "pytorch", 2*7 + 4, F16, "transformer.encoder.layers.0.mlp.dense_h_to_4h.weight", []int64{320, 48}},
		{"chatglm3-6b-tiny", "safetensors", 3*7 + 4, F16, "transformer.encoder.layers.2.self_attention.query_key_value.weight", []int64{96, 48}},
		{"glm-4-9b-chat-tiny", "safetensors", 2*7 + 4, BF16, "transformer.output_layer.weight", []int64{151552, 48}},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			ck, err := OpenWeights(filepath.Join(testenv.TestData(t), "hf", c.dir))
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			if ck.Format != c.format || len(ck.Names()) != c.tensors {
				t.Errorf("format %s with %d tensors, want %s with %d: %v", ck.Format, len(ck.Names()), c.format, c.tensors, ck.Names())
			}
			pt, ok := ck.Tensor(c.probe)
			if !ok {
				t.Fatalf("no tensor %s", c.probe)
			}
			if pt.DType != c.dtype || len(pt.Shape) != 2 || pt.Shape[0] != c.shape[0] || pt.Shape[1] != c.shape[1] {
				t.Errorf("%s: %s %v, want %s %v", c.probe, pt.DType, pt.Shape, c.dtype, c.shape)
			}
			if int64(len(pt.Bytes())) != pt.Elements()*pt.DType.Size() {
				t.Errorf("%s: %d bytes for %d elements", c.probe, len(pt.Bytes()), pt.Elements())
			}
		})
	}
}
