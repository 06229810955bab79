package convert

import (
	"fmt"
	"strings"

	"github.com/glmtool/glmtool/arch"
)

// tensorMap names one GGUF tensor and the checkpoint tensor it comes from, with the PyTorch shape that
// config.json implies. No layout change is needed for any version: fused QKV and gate|up are stored as
// llama.cpp reads them (gguf-and-quants §B.3), and v1's per-head interleaved QKV is kept as HF has it.
type tensorMap struct {
	gguf     string
	role     arch.Role
	hf       []string // one checkpoint tensor, or several whose rows are stacked in order
	shape    []int64
	optional bool
}

// tensorMaps pairs every tensor of the family's file (arch's registry: names and shapes) with its
// checkpoint name in the family's layout, in the order they are written.
func tensorMaps(p arch.Params) []tensorMap {
	l, err := layoutFor(nil, p.Family)
	if err != nil {
		return nil // every arch.Family has a layout (TestEveryFamilyHasALayout)
	}
	specs := p.Tensors()
	maps := make([]tensorMap, len(specs))
	for i, s := range specs {
		names := l.checkpointNames(s.Role)
		hf := make([]string, len(names))
		for k, n := range names {
			if s.Layer >= 0 {
				n = fmt.Sprintf(n, s.Layer)
			}
			hf[k] = n
		}
		maps[i] = tensorMap{gguf: s.Name, role: s.Role, hf: hf, shape: s.Shape, optional: s.Optional}
	}
	return maps
}

// ignoredTensor reports checkpoint tensors that carry nothing the GGUF needs: RoPE frequency buffers
// (recomputed at run time). A P-Tuning prefix encoder is never ignored (prefixTensor).
func ignoredTensor(name string) bool { return strings.HasSuffix(name, "inv_freq") }

// isQuantizedLinear reports the weights THUDM's int4/int8 checkpoints store quantized (spec §7).
func isQuantizedLinear(hf string) bool {
	for _, s := range []string{"query_key_value.weight", "dense.weight", "dense_h_to_4h.weight", "dense_4h_to_h.weight"} {
		if strings.HasSuffix(hf, s) && !strings.Contains(hf, "word_embeddings") {
			return true
		}
	}
	return false
}

// partRows is how many rows of the GGUF tensor each of its checkpoint tensors gives: all of them for one;
// the query, key and value heads for a stacked QKV (weight or bias).
func partRows(p arch.Params, m tensorMap) []int64 {
	if len(m.hf) == 3 && (m.role == arch.RoleAttnQKV || m.role == arch.RoleAttnQKVBias) {
		q, kv := int64(p.AttnWidth()), int64(p.KVDim())
		return []int64{q, kv, kv}
	}
	return []int64{m.shape[0]}
}
