package infer

import (
	"fmt"
	"math"
	"strings"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/gguf"
)

// LoRA is an adapter file (a GGUF LoRA adapter, as glmtool's or llama.cpp's converter writes it) applied
// at run time with a user scale: y = W·x + Scale·(alpha/r)·B·(A·x).
type LoRA struct {
	Path  string
	Scale float32
}

// adapter is one adapted weight's A [r, in] and B [out, r], and the scale of their product.
type adapter struct {
	a, b  backend.Matrix
	scale float32
}

// loadAdapters opens each LoRA file, checks it against the model (architecture, every adapted weight a
// matrix of the model, shapes) and attaches its matrices to the weights they adapt. A scale of 0 leaves
// the model exactly as it is.
func (m *Model) loadAdapters(loras []LoRA) error {
	for _, l := range loras {
		if math.IsNaN(float64(l.Scale)) || math.IsInf(float64(l.Scale), 0) {
			return fmt.Errorf("LoRA %s: scale %g is not a number", l.Path, l.Scale)
		}
		f, err := gguf.Open(l.Path)
		if err != nil {
			return fmt.Errorf("LoRA: %w", err)
		}
		m.adapterFiles = append(m.adapterFiles, f)
		if err := m.attach(f, l); err != nil {
			return fmt.Errorf("LoRA %s: %w", l.Path, err)
		}
	}
	return nil
}

func (m *Model) attach(f *gguf.File, l LoRA) error {
	if typ, _ := f.Meta.String(arch.KeyType); typ != "adapter" {
		return fmt.Errorf("general.type is %q, not \"adapter\": is this a model rather than a LoRA adapter?", typ)
	}
	if typ, _ := f.Meta.String(arch.KeyAdapterType); typ != "lora" {
		return fmt.Errorf("adapter.type is %q, not \"lora\"", typ)
	}
	if a, _ := f.Meta.String(arch.KeyArchitecture); a != m.Params.Family.Architecture() {
		return fmt.Errorf("the adapter is for architecture %q, the model is %q", a, m.Params.Family.Architecture())
	}
	if fam, err := f.Meta.String(arch.KeyFamily); err == nil && arch.Family(fam) != m.Params.Family {
		return fmt.Errorf("the adapter was made for a %s model, this is %s", fam, m.Params.Family)
	}
	alpha := float32(0)
	if f.Meta.Has(arch.KeyAdapterLoRAAlpha) {
		v, err := f.Meta.Float32(arch.KeyAdapterLoRAAlpha)
		if err != nil || v < 0 || math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
			return fmt.Errorf("key %s: %v is not a usable alpha", arch.KeyAdapterLoRAAlpha, v)
		}
		alpha = v
	}
	pairs := map[string][2]*gguf.TensorInfo{}
	var order []string
	for i := range f.Tensors {
		t := &f.Tensors[i]
		base, which := t.Name, -1
		if b, ok := strings.CutSuffix(t.Name, ".lora_a"); ok {
			base, which = b, 0
		} else if b, ok := strings.CutSuffix(t.Name, ".lora_b"); ok {
			base, which = b, 1
		}
		if which < 0 {
			return fmt.Errorf("tensor %s is not a .lora_a or .lora_b", t.Name)
		}
		p, seen := pairs[base]
		if !seen {
			order = append(order, base)
		}
		p[which] = t
		pairs[base] = p
	}
	if len(order) == 0 {
		return fmt.Errorf("the adapter has no tensors")
	}
	for _, name := range order {
		p := pairs[name]
		w := m.byName[name]
		switch {
		case p[0] == nil || p[1] == nil:
			return fmt.Errorf("%s has only one of .lora_a and .lora_b", name)
		case w == nil:
			return fmt.Errorf("it adapts %s, which is not a weight matrix of this model", name)
		case w == m.tokEmbd:
			return fmt.Errorf("adapting the token embedding (%s) is not supported", name)
		case len(p[0].Shape) != 2 || len(p[1].Shape) != 2:
			return fmt.Errorf("%s: lora_a %v and lora_b %v must be matrices", name, p[0].Shape, p[1].Shape)
		}
		in, r, out := p[0].Shape[0], p[0].Shape[1], p[1].Shape[1]
		if in != int64(w.Cols()) || out != int64(w.Rows()) || p[1].Shape[0] != r || r <= 0 {
			return fmt.Errorf("%s: lora_a %v and lora_b %v do not fit the weight's [%d, %d] (want [%d, r] and [r, %d])",
				name, p[0].Shape, p[1].Shape, w.Cols(), w.Rows(), w.Cols(), w.Rows())
		}
		a, err := m.be.Matrix(backend.MatrixSource{Name: p[0].Name, Type: p[0].Type, Rows: int(r), Cols: int(in), Data: f.Data(p[0])})
		if err != nil {
			return err
		}
		b, err := m.be.Matrix(backend.MatrixSource{Name: p[1].Name, Type: p[1].Type, Rows: int(out), Cols: int(r), Data: f.Data(p[1])})
		if err != nil {
			return err
		}
		scale := l.Scale // llama.cpp: alpha 0 means no alpha/r factor
		if alpha > 0 {
			scale *= alpha / float32(r)
		}
		if l.Scale == 0 {
			continue // checked, not applied: the base model's numbers exactly
		}
		if m.adapters == nil {
			m.adapters = map[backend.Matrix][]adapter{}
		}
		m.adapters[w] = append(m.adapters[w], adapter{a: a, b: b, scale: scale})
	}
	return nil
}

// linear is a weight's product with its adapters: W·x + bias, then + scale·B·(A·x) for each adapter of W
// (in F32: A and B stay F32 whatever W's type).
func (m *Model) linear(st backend.Stream, dst backend.Acts, w backend.Matrix, x backend.Acts, bias backend.Vector, parts []int) {
	st.MatMul(dst, w, x, bias, parts)
	if len(m.adapters) == 0 {
		return
	}
	for _, ad := range m.adapters[w] {
		t := st.Acts(bufLoRAIn, x.Rows(), ad.a.Rows())
		st.MatMul(t, ad.a, x, nil, parts)
		u := st.Acts(bufLoRAOut, x.Rows(), ad.b.Rows())
		st.MatMul(u, ad.b, t, nil, parts)
		st.ScaleAdd(dst, u, ad.scale, dst)
	}
}
