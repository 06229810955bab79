package arch

// Role is what a tensor does in the graph, whatever its layer.
type Role int

// The roles of the chatglm and chatglm1 architectures' tensors.
const (
	RoleTokenEmbd Role = iota
	RoleAttnNorm
	RoleAttnNormBias
	RoleAttnQKV
	RoleAttnQKVBias
	RoleAttnOutput
	RoleAttnOutputBias
	RoleFFNNorm
	RoleFFNNormBias
	RoleFFNUp
	RoleFFNUpBias
	RoleFFNDown
	RoleFFNDownBias
	RoleOutputNorm
	RoleOutputNormBias
	RoleOutput
	RoleAttnPostNorm // glm4: the norm of the attention's output, before the residual add
	RoleFFNPostNorm  // glm4: the norm of the feed-forward output, before the residual add
	RolePrefixKV     // a P-Tuning v2 prefix (PrefixKV)
)

// TensorSpec is one tensor of an architecture's file: the one place its name and shape are written, for
// the converters that write it and the loader that reads it.
type TensorSpec struct {
	Name  string
	Role  Role
	Layer int     // the block, or -1 outside the blocks
	Shape []int64 // PyTorch order: rows, then the row length (a 1-D tensor has one dimension)
	// Optional tensors may be missing from a file: ChatGLM-6B's lm_head (tied to the embedding, stored
	// once) and the QKV bias of the v2+ graph (every THUDM checkpoint has it; the graph works without).
	Optional bool
}

// Tensors lists every tensor a file of p's family holds, in the order converters write them (the order of
// llama.cpp's convert_hf_to_gguf.py for ChatGLM2/3 and GLM-4).
func (p Params) Tensors() []TensorSpec {
	e, v := int64(p.Embedding), int64(p.Vocab)
	qkv, up, ff, aw := int64(p.QKVRows()), int64(p.FFNUpRows()), int64(p.FeedForward), int64(p.AttnWidth())
	v1 := p.Family == FamilyChatGLM1
	sandwich := p.Family.Architecture() == GLM4
	specs := []TensorSpec{{Name: TokenEmbd, Role: RoleTokenEmbd, Layer: -1, Shape: []int64{v, e}}}
	for l := range p.Blocks {
		block := func(name string, role Role, optional bool, shape ...int64) TensorSpec {
			return TensorSpec{Name: name, Role: role, Layer: l, Shape: shape, Optional: optional}
		}
		specs = append(specs, block(AttnNorm(l), RoleAttnNorm, false, e))
		if v1 {
			specs = append(specs, block(AttnNormBias(l), RoleAttnNormBias, false, e))
		}
		specs = append(specs, block(AttnQKV(l), RoleAttnQKV, false, qkv, e), block(AttnQKVBias(l), RoleAttnQKVBias, !v1, qkv),
			block(AttnOutput(l), RoleAttnOutput, false, e, aw))
		if v1 {
			specs = append(specs, block(AttnOutputBias(l), RoleAttnOutputBias, false, e))
		}
		if sandwich {
			specs = append(specs, block(AttnPostNorm(l), RoleAttnPostNorm, false, e))
		}
		specs = append(specs, block(FFNNorm(l), RoleFFNNorm, false, e))
		if v1 {
			specs = append(specs, block(FFNNormBias(l), RoleFFNNormBias, false, e))
		}
		specs = append(specs, block(FFNUp(l), RoleFFNUp, false, up, e))
		if v1 {
			specs = append(specs, block(FFNUpBias(l), RoleFFNUpBias, false, up))
		}
		specs = append(specs, block(FFNDown(l), RoleFFNDown, false, e, ff))
		if v1 {
			specs = append(specs, block(FFNDownBias(l), RoleFFNDownBias, false, e))
		}
		if sandwich {
			specs = append(specs, block(FFNPostNorm(l), RoleFFNPostNorm, false, e))
		}
	}
	specs = append(specs, TensorSpec{Name: OutputNorm, Role: RoleOutputNorm, Layer: -1, Shape: []int64{e}})
	if v1 {
		specs = append(specs, TensorSpec{Name: OutputNormBias, Role: RoleOutputNormBias, Layer: -1, Shape: []int64{e}})
	}
	specs = append(specs, TensorSpec{Name: Output, Role: RoleOutput, Layer: -1, Shape: []int64{v, e}, Optional: v1})
	if p.PrefixLen > 0 {
		specs = append(specs, TensorSpec{Name: PrefixKV, Role: RolePrefixKV, Layer: -1,
			Shape: []int64{int64(p.PrefixLen), int64(2 * p.Blocks * p.KVDim())}})
	}
	return specs
}
