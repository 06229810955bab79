package convert

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/glmtool/glmtool/arch"
)

// prefixEncoderName is the P-Tuning v2 prefix THUDM's ChatGLM code trains (PrefixEncoder without a
// projection: an Embedding of pre_seq_len rows of layers·2·kv_dim).
const prefixEncoderName = "transformer.prefix_encoder.embedding.weight"

// prefixTensor finds the P-Tuning v2 prefix to store: in the --ptuning folder pt (dir ptDir) when given,
// else in the base checkpoint itself (a full fine-tuned checkpoint). It returns nil when there is none.
// The prefix must be the plain
// embedding of [pre_seq_len, layers·2·kv_dim]; prefix_projection checkpoints (an MLP in front of it) are
// refused, as is a pre_seq_len in config.json that the tensor does not have.
func prefixTensor(ck, pt *Weights, cfg *hfConfig, ptDir string, p arch.Params) (*SourceTensor, error) {
	src, where, c := ck, "the checkpoint", cfg
	if pt != nil {
		src, where = pt, ptDir
		var ptCfg hfConfig
		if err := readJSONFile(filepath.Join(ptDir, "config.json"), &ptCfg); err == nil {
			c = &ptCfg
		}
	}
	for _, name := range src.Names() {
		if strings.Contains(name, "prefix_encoder.trans.") || (c.PrefixProjection != nil && *c.PrefixProjection) {
			return nil, fmt.Errorf("%s: a P-Tuning v2 prefix with prefix_projection (%s) is not supported; retrain with prefix_projection false, or merge it in Python", where, name)
		}
	}
	t, ok := src.Tensor(prefixEncoderName)
	if !ok {
		if pt != nil {
			return nil, fmt.Errorf("%s holds no %s; is it a P-Tuning v2 checkpoint of THUDM's recipe?", where, prefixEncoderName)
		}
		for _, name := range src.Names() {
			if strings.Contains(name, "prefix_encoder.") {
				return nil, fmt.Errorf("%s: prefix encoder tensor %q is not one glmtool reads (want %s)", where, name, prefixEncoderName)
			}
		}
		return nil, nil
	}
	width := int64(2 * p.Blocks * p.KVDim())
	switch {
	case len(t.Shape) != 2 || t.Shape[0] <= 0 || t.Shape[1] != width:
		return nil, fmt.Errorf("%s: %s has shape %v, want [pre_seq_len, %d] (%d layers × key and value × %d)", where, prefixEncoderName, t.Shape, width, p.Blocks, p.KVDim())
	case t.DType == I8:
		return nil, fmt.Errorf("%s: %s is int8; a prefix is float", where, prefixEncoderName)
	case t.Shape[0] >= int64(p.ContextLength):
		return nil, fmt.Errorf("%s: a prefix of %d slots leaves no room in the context of %d", where, t.Shape[0], p.ContextLength)
	case c.PreSeqLen != nil && int64(*c.PreSeqLen) != t.Shape[0]:
		return nil, fmt.Errorf("%s: config.json says pre_seq_len %d, the prefix has %d rows", where, *c.PreSeqLen, t.Shape[0])
	}
	return t, nil
}
