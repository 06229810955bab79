package quantize

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// Options select the per-tensor types. Zero values mean llama-quantize's defaults.
type Options struct {
	Target          Target
	Pure            bool         // one type for every eligible tensor
	OutputType      *tensor.Type // type of output.weight
	EmbdType        *tensor.Type // type of token_embd.weight
	AllowRequantize bool         // accept already quantized inputs
}

// Decision is what happens to one tensor.
type Decision struct {
	Name     string
	From, To tensor.Type
	Shape    tensor.Shape
	Fallback bool // the rules' type did not fit the row length and a fallback was used
}

// Requantize reports whether the tensor's data must be converted (otherwise they are copied as they are).
func (d Decision) Requantize() bool { return d.From != d.To }

// eligible mirrors llama_model_quantize_impl: only 2-D+ tensors named *weight, never norms, gating
// tensors, positional or token-type embeddings, or the small RWKV/Mamba tensors.
func eligible(name string, dims int) bool {
	if !strings.HasSuffix(name, "weight") || dims < 2 || strings.Contains(name, "_norm.weight") {
		return false
	}
	for _, s := range []string{"ffn_gate_inp.weight", "ssm_conv1d.weight", "time_mix_first.weight", "time_mix_w1.weight",
		"time_mix_w2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight", "attn_rel_b.weight"} {
		if strings.Contains(name, s) {
			return false
		}
	}
	return name != "position_embd.weight" && name != "token_types.weight"
}

// layerOf parses N from "blk.N.", or -1.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok {
		return -1
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return -1
	}
	return n
}

// OutputOrder sorts tensors as llama-quantize writes them: the loader's weights_map, a std::map ordered by
// layer number (-1 for tensors outside blocks) and then by name.
func OutputOrder(tensors []gguf.TensorInfo) []gguf.TensorInfo {
	out := append([]gguf.TensorInfo(nil), tensors...)
	sort.SliceStable(out, func(i, j int) bool {
		li, lj := layerOf(out[i].Name), layerOf(out[j].Name)
		if li != lj {
			return li < lj
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Plan decides every tensor's type, in output order. nLayer is the model's block count.
func Plan(tensors []gguf.TensorInfo, nLayer int, opt Options) ([]Decision, error) {
	ordered := OutputOrder(tensors)
	st := planState{opt: opt, nLayer: nLayer}
	for _, t := range ordered {
		switch {
		case strings.Contains(t.Name, "attn_v.weight") || strings.Contains(t.Name, "attn_qkv.weight") || strings.Contains(t.Name, "attn_kv_b.weight"):
			st.nAttnV++
		case t.Name == "output.weight":
			st.hasOutput = true
		}
	}
	out := make([]Decision, 0, len(ordered))
	for _, t := range ordered {
		d := Decision{Name: t.Name, From: t.Type, To: t.Type, Shape: t.Shape}
		if eligible(t.Name, len(t.Shape)) {
			d.To = opt.Target.Base
			if !opt.Pure && opt.Target.Base.Quantized() {
				d.To, d.Fallback = st.tensorType(d.To, t)
			}
			if opt.EmbdType != nil && t.Name == "token_embd.weight" {
				d.To = *opt.EmbdType
			}
			if opt.OutputType != nil && t.Name == "output.weight" {
				d.To = *opt.OutputType
			}
		}
		if d.Requantize() {
			if d.From.Quantized() && !opt.AllowRequantize {
				return nil, fmt.Errorf("tensor %q is already quantized (%s); requantizing loses quality, pass --allow-requantize to do it anyway", t.Name, t.Type)
			}
			if !tensor.CanDequantize(d.From) {
				return nil, fmt.Errorf("tensor %q: reading %s is not supported", t.Name, d.From)
			}
			if !tensor.CanQuantize(d.To) {
				return nil, fmt.Errorf("tensor %q: writing %s is not supported", t.Name, d.To)
			}
			if t.Shape[0]%int64(d.To.BlockSize()) != 0 {
				return nil, fmt.Errorf("tensor %q: row length %d is not a multiple of %s's block size %d", t.Name, t.Shape[0], d.To, d.To.BlockSize())
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// planState carries llama_tensor_get_type's counters across tensors.
type planState struct {
	opt       Options
	nLayer    int
	nAttnV    int
	iAttnV    int
	iFFNDown  int
	hasOutput bool
}

func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// tensorType is llama_tensor_get_type restricted to the file types glmtool writes; the checks run in the
// same order as llama.cpp's so that the same counters advance.
func (s *planState) tensorType(newType tensor.Type, t gguf.TensorInfo) (tensor.Type, bool) {
	ft := s.opt.Target.FileType
	name := t.Name
	switch {
	case name == "output.weight" || (!s.hasOutput && name == "token_embd.weight"):
		if t.Shape[0]%int64(newType.BlockSize()) != 0 {
			newType = tensor.Q8_0
		} else if newType != tensor.Q8_0 {
			newType = tensor.Q6_K
		}
	case name == "token_embd.weight":
		// the base type, for every file type offered here
	case strings.Contains(name, "attn_v.weight"):
		switch {
		case (ft == tensor.FileQ4_K_M || ft == tensor.FileQ5_K_M) && useMoreBits(s.iAttnV, s.nAttnV):
			newType = tensor.Q6_K
		case ft == tensor.FileQ4_K_S && s.iAttnV < 4:
			newType = tensor.Q5_K
		}
		s.iAttnV++
	case strings.Contains(name, "ffn_down"):
		i := s.iFFNDown
		switch {
		case ft == tensor.FileQ4_K_M && useMoreBits(i, s.nLayer):
			newType = tensor.Q6_K
		case ft == tensor.FileQ5_K_M && useMoreBits(i, s.nLayer):
			newType = tensor.Q6_K
		case ft == tensor.FileQ4_K_S && i < s.nLayer/8:
			newType = tensor.Q5_K
		}
		s.iFFNDown++
	case strings.Contains(name, "attn_qkv.weight"):
		switch ft {
		case tensor.FileQ4_K_M:
			newType = tensor.Q5_K
		case tensor.FileQ5_K_M:
			newType = tensor.Q6_K
		}
	}
	if t.Shape[0]%int64(newType.BlockSize()) == 0 {
		return newType, false
	}
	switch newType {
	case tensor.Q4_K:
		newType = tensor.Q5_0
	case tensor.Q5_K:
		newType = tensor.Q5_1
	case tensor.Q6_K:
		newType = tensor.Q8_0
	}
	if t.Shape[0]%int64(newType.BlockSize()) != 0 {
		newType = tensor.F16
	}
	return newType, true
}
