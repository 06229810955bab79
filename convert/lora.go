package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/glmtool/glmtool/quantize"
)

// peftConfig is the part of a PEFT adapter_config.json (LoraConfig.to_dict) that decides how an adapter
// applies; every feature that changes the math and is not implemented is named, so that it is refused
// rather than ignored.
type peftConfig struct {
	PeftType      string          `json:"peft_type"`
	R             int             `json:"r"`
	LoraAlpha     float64         `json:"lora_alpha"`
	TargetModules json.RawMessage `json:"target_modules"`
	Bias          string          `json:"bias"`
	FanInFanOut   bool            `json:"fan_in_fan_out"`
	UseRSLoRA     bool            `json:"use_rslora"`
	UseDoRA       bool            `json:"use_dora"`
	ModulesToSave []string        `json:"modules_to_save"`
	RankPattern   map[string]any  `json:"rank_pattern"`
	AlphaPattern  map[string]any  `json:"alpha_pattern"`
	BaseModel     string          `json:"base_model_name_or_path"`
}

// LoRAInfo describes an adapter: rank, alpha, the scale α/r (α/√r with rsLoRA) and the modules it adapts.
type LoRAInfo struct {
	Rank      int
	Alpha     float64
	Scale     float64
	Targets   []string // target_modules, sorted (PEFT stores a set)
	Modules   int      // adapted Linear layers
	BaseModel string
}

// loraPair is one adapted Linear: A [r, in] and B [out, r], and the checkpoint weight they adapt.
type loraPair struct {
	module string // e.g. transformer.encoder.layers.0.self_attention.query_key_value
	a, b   *SourceTensor
}

// loraAdapter is an opened PEFT adapter folder.
type loraAdapter struct {
	w     *Weights
	info  LoRAInfo
	pairs []loraPair
}

func (l *loraAdapter) close() { _ = l.w.Close() }

// readLoRA opens a PEFT LoRA adapter folder (adapter_config.json with adapter_model.safetensors or
// adapter_model.bin) and checks it: every tensor is a lora_A/lora_B weight of a module, in pairs of one
// rank, and the configuration uses nothing glmtool does not implement.
func readLoRA(dir string) (*loraAdapter, error) {
	var c peftConfig
	if err := readJSONFile(filepath.Join(dir, "adapter_config.json"), &c); err != nil {
		return nil, fmt.Errorf("adapter_config.json: %w", err)
	}
	var targets []string
	if err := json.Unmarshal(c.TargetModules, &targets); err != nil {
		return nil, fmt.Errorf("adapter_config.json: target_modules must be a list of module names (a regular expression is not supported)")
	}
	sort.Strings(targets)
	targets = slices.Compact(targets)
	switch {
	case c.PeftType != "LORA":
		return nil, fmt.Errorf("adapter_config.json: peft_type %q is not LORA", c.PeftType)
	case c.R <= 0 || c.R > 1<<16:
		return nil, fmt.Errorf("adapter_config.json: r %d is out of range", c.R)
	case c.LoraAlpha <= 0 || math.IsInf(c.LoraAlpha, 0) || c.LoraAlpha > 1e6:
		return nil, fmt.Errorf("adapter_config.json: lora_alpha %g is out of range", c.LoraAlpha)
	case c.UseDoRA:
		return nil, fmt.Errorf("adapter_config.json: use_dora (weight-decomposed LoRA) is not supported")
	case c.FanInFanOut:
		return nil, fmt.Errorf("adapter_config.json: fan_in_fan_out is true, but GLM's Linear layers store [out, in]; the adapter was made for another model")
	case c.Bias != "" && c.Bias != "none":
		return nil, fmt.Errorf("adapter_config.json: bias %q (trained biases) is not supported", c.Bias)
	case len(c.ModulesToSave) > 0:
		return nil, fmt.Errorf("adapter_config.json: modules_to_save %v (fully trained modules) is not supported", c.ModulesToSave)
	case len(c.RankPattern) > 0 || len(c.AlphaPattern) > 0:
		return nil, fmt.Errorf("adapter_config.json: rank_pattern / alpha_pattern (per-module ranks) are not supported")
	case len(targets) == 0:
		return nil, fmt.Errorf("adapter_config.json: target_modules is empty")
	}
	w, err := openAdapterWeights(dir)
	if err != nil {
		return nil, err
	}
	l := &loraAdapter{w: w, info: LoRAInfo{Rank: c.R, Alpha: c.LoraAlpha, Targets: targets, BaseModel: c.BaseModel}}
	l.info.Scale = c.LoraAlpha / float64(c.R)
	if c.UseRSLoRA {
		l.info.Scale = c.LoraAlpha / math.Sqrt(float64(c.R))
	}
	byModule := map[string]*loraPair{}
	for _, name := range w.Names() {
		rest, ok := strings.CutPrefix(name, "base_model.model.")
		var module, which string
		if ok {
			module, which, ok = cutLast(rest, ".lora_A.weight", ".lora_B.weight")
		}
		if !ok {
			l.close()
			return nil, fmt.Errorf("adapter tensor %q is not a LoRA A or B weight (base_model.model.<module>.lora_A.weight); embeddings, DoRA magnitudes and biases are not supported", name)
		}
		p := byModule[module]
		if p == nil {
			p = &loraPair{module: module}
			byModule[module] = p
		}
		t, _ := w.Tensor(name)
		if which == "A" {
			p.a = t
		} else {
			p.b = t
		}
	}
	for _, p := range byModule {
		if err := checkPair(p, c.R, targets); err != nil {
			l.close()
			return nil, err
		}
		l.pairs = append(l.pairs, *p)
	}
	if len(l.pairs) == 0 {
		l.close()
		return nil, fmt.Errorf("%s: the adapter has no LoRA weights", dir)
	}
	sort.Slice(l.pairs, func(i, j int) bool { return l.pairs[i].module < l.pairs[j].module })
	l.info.Modules = len(l.pairs)
	return l, nil
}

// cutLast strips whichever of the suffixes (lora_A, lora_B) s ends with, and says which.
func cutLast(s, a, b string) (string, string, bool) {
	if m, ok := strings.CutSuffix(s, a); ok {
		return m, "A", true
	}
	if m, ok := strings.CutSuffix(s, b); ok {
		return m, "B", true
	}
	return "", "", false
}

// checkPair checks that a module has both weights, of the configured rank, as 2-D float tensors, and that
// it is one of target_modules (PEFT matches a module whose name ends with ".<target>").
func checkPair(p *loraPair, r int, targets []string) error {
	switch {
	case p.a == nil || p.b == nil:
		return fmt.Errorf("adapter module %s has only one of lora_A and lora_B", p.module)
	case len(p.a.Shape) != 2 || len(p.b.Shape) != 2 || p.a.DType == I8 || p.b.DType == I8:
		return fmt.Errorf("adapter module %s: lora_A %v and lora_B %v must be 2-D float matrices", p.module, p.a.Shape, p.b.Shape)
	case p.a.Shape[0] != int64(r) || p.b.Shape[1] != int64(r):
		return fmt.Errorf("adapter module %s: lora_A %v and lora_B %v do not have the rank r = %d of adapter_config.json", p.module, p.a.Shape, p.b.Shape, r)
	}
	for _, t := range targets {
		if matchesTarget(p.module, t) {
			return nil
		}
	}
	return fmt.Errorf("adapter module %s is not in target_modules %v", p.module, targets)
}

// matchesTarget is PEFT's rule: a module is targeted by its full name or by the last parts of it.
func matchesTarget(module, target string) bool {
	return module == target || strings.HasSuffix(module, "."+target)
}

// openAdapterWeights opens adapter_model.safetensors, or the older adapter_model.bin.
func openAdapterWeights(dir string) (*Weights, error) {
	for _, name := range []string{"adapter_model.safetensors", "adapter_model.bin"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			continue
		}
		c := &Weights{Dir: dir, tensors: map[string]*SourceTensor{}, Format: "safetensors"}
		if filepath.Ext(name) == ".bin" {
			c.Format = "pytorch"
		}
		if err := c.loadShard(name); err != nil {
			_ = c.Close()
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("%s: no adapter_model.safetensors or adapter_model.bin", dir)
}

// loraTarget is where an adapted module lands in the GGUF: the tensor (job index) and its rows (the
// module's part of a stacked tensor).
type loraTarget struct {
	tensor      int
	row0, nRows int64
	cols        int64
}

// locate finds the GGUF tensor of each adapted module's weight, and checks every target module exists in
// the base and every adapter shape against the base.
func (l *loraAdapter) locate(tensors []jobTensor, maps []tensorMap, ck *Weights) ([]loraTarget, error) {
	index := map[string]int{}
	for i, t := range tensors {
		index[t.name] = i
	}
	found := map[string]bool{}
	out := make([]loraTarget, len(l.pairs))
	for k, p := range l.pairs {
		weight := p.module + ".weight"
		tgt, ok := loraTarget{}, false
		for _, m := range maps {
			row0 := int64(0)
			for _, hf := range m.hf {
				t, has := ck.Tensor(hf)
				if hf == weight && has {
					i, in := index[m.gguf]
					if !in || len(t.Shape) != 2 {
						return nil, fmt.Errorf("adapter module %s: its base weight %s is not a matrix of the GGUF", p.module, hf)
					}
					tgt, ok = loraTarget{tensor: i, row0: row0, nRows: t.Shape[0], cols: t.Shape[1]}, true
				}
				if has && len(t.Shape) > 0 {
					row0 += t.Shape[0]
				}
			}
		}
		if !ok {
			return nil, fmt.Errorf("adapter module %s is not in the base model (no %s); was the adapter trained on another model?", p.module, weight)
		}
		if p.a.Shape[1] != tgt.cols || p.b.Shape[0] != tgt.nRows {
			return nil, fmt.Errorf("adapter module %s: lora_A %v and lora_B %v do not fit the base weight [%d, %d]", p.module, p.a.Shape, p.b.Shape, tgt.nRows, tgt.cols)
		}
		out[k] = tgt
		l.markTargets(p.module, found)
	}
	if err := l.checkTargets(found); err != nil {
		return nil, err
	}
	return out, nil
}

// merge wraps the adapted tensors' row sources so that they give W + scale·B·A.
func (l *loraAdapter) merge(tensors []jobTensor, maps []tensorMap, ck *Weights) error {
	targets, err := l.locate(tensors, maps, ck)
	if err != nil {
		return err
	}
	for k, p := range l.pairs {
		tg := targets[k]
		a := make([]float32, p.a.Elements())
		p.a.DecodeRange(0, a)
		b := make([]float32, p.b.Elements())
		p.b.DecodeRange(0, b)
		t := &tensors[tg.tensor]
		t.src = &mergedRows{RowSource: t.src, a: a, b: b, r: l.info.Rank, row0: tg.row0, nRows: tg.nRows, scale: l.info.Scale}
	}
	return nil
}

// mergedRows adds scale·(B·A)[i] to rows row0..row0+nRows of a base tensor, in float64 from the stored
// values, rounded once to float32 (as merge_and_unload on a float32 base).
type mergedRows struct {
	quantize.RowSource
	a, b        []float32 // A [r, cols], B [nRows, r]
	r           int
	row0, nRows int64
	scale       float64
}

func (m *mergedRows) DecodeRow(i int64, dst []float32) error {
	if err := m.RowSource.DecodeRow(i, dst); err != nil {
		return err
	}
	if i < m.row0 || i >= m.row0+m.nRows {
		return nil
	}
	bi := m.b[(i-m.row0)*int64(m.r):][:m.r]
	cols := len(dst)
	for j := range dst {
		var d float64
		for k, bk := range bi {
			d += float64(bk) * float64(m.a[k*cols+j])
		}
		dst[j] = float32(float64(dst[j]) + m.scale*d)
	}
	return nil
}

// markTargets notes the target_modules entries that module answers to.
func (l *loraAdapter) markTargets(module string, found map[string]bool) {
	for _, t := range l.info.Targets {
		if matchesTarget(module, t) {
			found[t] = true
		}
	}
}

// checkTargets refuses a target_modules entry that adapts no layer of the base model.
func (l *loraAdapter) checkTargets(found map[string]bool) error {
	for _, t := range l.info.Targets {
		if !found[t] {
			return fmt.Errorf("target module %q of adapter_config.json adapts no layer of the base model (its Linear layers end in query_key_value, dense, dense_h_to_4h, dense_4h_to_h, or the transformers GLMs' q_proj, k_proj, v_proj, o_proj, gate_up_proj, down_proj)", t)
		}
	}
	return nil
}
