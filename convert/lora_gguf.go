package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"time"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

// LoRAFile writes the PEFT LoRA adapter in folder dir as a GGUF LoRA adapter for the model in base (a
// GGUF file), in llama.cpp's layout: general.type "adapter", adapter.type "lora", adapter.lora.alpha, and
// for each adapted weight W of the base "W.lora_a" [in, r] and "W.lora_b" [r, out] in F32. llama.cpp
// scales by alpha / r with r the tensor's rank; where several checkpoint Linears make one GGUF tensor (the
// q, k and v projections of the transformers GLMs), their A matrices are stacked and their B matrices
// placed block-diagonally, with B scaled so that alpha / r still gives each its own scale.
func LoRAFile(ctx context.Context, dir, base, out string, opt Options) (*Report, error) {
	start := time.Now()
	for _, in := range []string{dir, base} {
		if err := refuseInputAsOutput(in, out); err != nil {
			return nil, fmt.Errorf("convert %s: %w", dir, err)
		}
	}
	bf, err := gguf.Open(base)
	if err != nil {
		return nil, fmt.Errorf("--base: %w", err)
	}
	defer bf.Close()
	p, err := arch.ReadParams(bf)
	if err != nil {
		return nil, fmt.Errorf("--base %s: %w", base, err)
	}
	p.PrefixLen = 0
	l, err := readLoRA(dir)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", dir, err)
	}
	defer l.close()
	groups, err := l.groups(p, bf)
	if err != nil {
		return nil, fmt.Errorf("convert %s for %s: %w", dir, filepath.Base(base), err)
	}
	name := opt.Name
	if name == "" {
		name = filepath.Base(filepath.Clean(dir))
	}
	meta := gguf.NewMetadata(
		gguf.KV{Key: arch.KeyArchitecture, Value: gguf.String(p.Family.Architecture())},
		gguf.KV{Key: arch.KeyType, Value: gguf.String("adapter")},
		gguf.KV{Key: arch.KeyName, Value: gguf.String(name)},
		gguf.KV{Key: arch.KeyAdapterType, Value: gguf.String("lora")},
		gguf.KV{Key: arch.KeyAdapterLoRAAlpha, Value: gguf.Float32(float32(l.info.Alpha))},
	)
	meta.Set(arch.KeyFamily, gguf.String(string(p.Family)))
	rep := &Report{Family: p.Family, Params: p, FileType: tensor.FileF32, LoRA: &l.info}
	var sources []gguf.TensorSource
	for _, g := range groups {
		a, b := g.a, g.b
		sources = append(sources,
			gguf.TensorSource{Name: arch.LoRAA(g.weight), Type: tensor.F32, Shape: tensor.Shape{g.cols, g.rank}, WriteTo: floatsTo(a)},
			gguf.TensorSource{Name: arch.LoRAB(g.weight), Type: tensor.F32, Shape: tensor.Shape{g.rank, g.rows}, WriteTo: floatsTo(b)})
		rep.OutBytes += 4 * int64(len(a)+len(b))
	}
	if err := gguf.WriteFile(ctx, out, meta, sources); err != nil {
		return nil, err
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

func floatsTo(v []float32) func(io.Writer) error {
	return func(w io.Writer) error {
		buf := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		_, err := w.Write(buf)
		return err
	}
}

// loraGroup is the adapter of one GGUF weight: A [rank, cols] and B [rows, rank], row-major.
type loraGroup struct {
	weight           string
	rows, cols, rank int64
	a, b             []float32
}

// groups pairs each adapted module with the base file's weight and builds one A and B per weight.
func (l *loraAdapter) groups(p arch.Params, bf *gguf.File) ([]loraGroup, error) {
	type part struct {
		pair       loraPair
		row0, rows int64
	}
	parts := map[string][]part{}
	var order []string
	found := map[string]bool{}
	maps := tensorMaps(p)
	for _, pr := range l.pairs {
		weight := pr.module + ".weight"
		ok := false
		for _, m := range maps {
			rows := partRows(p, m)
			row0 := int64(0)
			for k, hf := range m.hf {
				if hf == weight && len(m.shape) == 2 && k < len(rows) {
					if _, in := bf.Tensor(m.gguf); !in {
						return nil, fmt.Errorf("adapter module %s adapts %s, which the base file does not hold", pr.module, m.gguf)
					}
					if pr.a.Shape[1] != m.shape[1] || pr.b.Shape[0] != rows[k] {
						return nil, fmt.Errorf("adapter module %s: lora_A %v and lora_B %v do not fit the base weight %s ([%d, %d] of it)", pr.module, pr.a.Shape, pr.b.Shape, m.gguf, rows[k], m.shape[1])
					}
					if _, seen := parts[m.gguf]; !seen {
						order = append(order, m.gguf)
					}
					parts[m.gguf] = append(parts[m.gguf], part{pair: pr, row0: row0, rows: rows[k]})
					ok = true
				}
				if k < len(rows) {
					row0 += rows[k]
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("adapter module %s is not in the base model (a %s model has no %s); was the adapter trained on another model?", pr.module, p.Family, weight)
		}
		l.markTargets(pr.module, found)
	}
	if err := l.checkTargets(found); err != nil {
		return nil, err
	}
	var out []loraGroup
	for _, name := range order {
		ps := parts[name]
		spec, _ := bf.Tensor(name)
		g := loraGroup{weight: name, cols: spec.Shape[0], rows: spec.Shape[1]}
		for _, pt := range ps {
			g.rank += pt.pair.a.Shape[0]
		}
		g.a = make([]float32, g.rank*g.cols)
		g.b = make([]float32, g.rows*g.rank)
		// llama.cpp scales the product by alpha / g.rank; each part was trained for alpha / its own rank.
		off := int64(0)
		for _, pt := range ps {
			r := pt.pair.a.Shape[0]
			pt.pair.a.DecodeRange(0, g.a[off*g.cols:(off+r)*g.cols])
			bi := make([]float32, pt.rows*r)
			pt.pair.b.DecodeRange(0, bi)
			fix := float64(g.rank) / float64(r) * l.info.Scale / (l.info.Alpha / float64(r)) // rsLoRA folds in here too
			for j := range pt.rows {
				for k := range r {
					g.b[(pt.row0+j)*g.rank+off+k] = float32(float64(bi[j*r+k]) * fix)
				}
			}
			off += r
		}
		out = append(out, g)
	}
	return out, nil
}
