package convert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/quantize"
	"github.com/glmtool/glmtool/tensor"
)

// Options control a conversion.
type Options struct {
	OutType   string // f32, f16 (default), bf16, or a quantize target (q8_0, q4_0, q4_k_m, ...)
	Family    string // override version detection: chatglm, chatglm2, chatglm3, glm4
	VocabOnly bool   // write the tokenizer and hyper-parameters, no weights
	Name      string // general.name; default from config.json or the folder name
	// PTuning is a P-Tuning v2 checkpoint folder (THUDM's ptuning/main.py output: the prefix encoder and
	// config.json with pre_seq_len) whose prefix is stored with the base; a full checkpoint that holds its
	// prefix encoder needs none.
	PTuning string
	// LoRA is a PEFT LoRA adapter folder merged into the weights (W + (α/r)·B·A, in float64, then the type).
	LoRA    string
	Threads int
	// Progress, when set, is called with the source bytes done so far and the total.
	Progress func(done, total int64)
}

// Report describes a finished conversion.
type Report struct {
	Family     arch.Family
	Params     arch.Params
	FileType   tensor.FileType
	Tensors    []quantize.TensorReport
	Ignored    []string // checkpoint tensors not needed in GGUF (rotary inv_freq, ...)
	InBytes    int64
	OutBytes   int64
	Duration   time.Duration
	TiedLMHead bool      // v1: lm_head equals the embedding and is stored once
	PrefixLen  int       // P-Tuning v2 prefix slots stored (0: none)
	LoRA       *LoRAInfo // the adapter merged, if any
	// NoTokenizer: the folder had no tokenizer file (allowed for ChatGLM-6B), so the file works on ids only.
	NoTokenizer bool
}

// job is a conversion ready to be written: metadata plus one row source per tensor.
type job struct {
	meta    *gguf.Metadata
	tensors []jobTensor
	report  *Report
}

type jobTensor struct {
	name  string
	shape tensor.Shape // ggml order
	src   quantize.RowSource
}

// Checkpoint converts the Hugging Face model folder dir into a GGUF file at out.
func Checkpoint(ctx context.Context, dir, out string, opt Options) (*Report, error) {
	start := time.Now()
	for _, in := range []string{dir, opt.PTuning, opt.LoRA} {
		if in == "" {
			continue
		}
		if err := refuseInputAsOutput(in, out); err != nil {
			return nil, fmt.Errorf("convert %s: %w", dir, err)
		}
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", dir, err)
	}
	fam, err := detectFamily(dir, cfg, opt.Family)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", dir, err)
	}
	p, err := paramsOf(cfg, fam)
	if err != nil {
		return nil, fmt.Errorf("convert %s (%s): %w", dir, fam, err)
	}
	eos, err := cfg.eosIDs()
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", dir, err)
	}
	vocab, err := checkpointVocab(dir, fam, p, cfg, eos)
	if err != nil {
		return nil, fmt.Errorf("convert %s (%s): %w", dir, fam, err)
	}
	name := opt.Name
	if name == "" {
		name = filepath.Base(strings.TrimSuffix(cfg.NameOrPath, "/"))
		if name == "." || name == "" {
			name = filepath.Base(filepath.Clean(dir))
		}
	}
	j := &job{report: &Report{Family: fam, Params: p, NoTokenizer: len(vocab.Tokens) == 0}}
	if !opt.VocabOnly {
		ck, err := OpenWeights(dir)
		if err != nil {
			return nil, fmt.Errorf("convert %s: %w", dir, err)
		}
		defer ck.Close()
		var pt *Weights
		if opt.PTuning != "" {
			if pt, err = OpenWeights(opt.PTuning); err != nil {
				return nil, fmt.Errorf("convert %s: --ptuning: %w", dir, err)
			}
			defer pt.Close()
		}
		prefix, err := prefixTensor(ck, pt, cfg, opt.PTuning, p)
		if err != nil {
			return nil, fmt.Errorf("convert %s (%s): %w", dir, fam, err)
		}
		if prefix != nil {
			p.PrefixLen = int(prefix.Shape[0])
			j.report.Params, j.report.PrefixLen = p, p.PrefixLen
		}
		var adapter *loraAdapter
		if opt.LoRA != "" {
			if adapter, err = readLoRA(opt.LoRA); err != nil {
				return nil, fmt.Errorf("convert %s: --lora: %w", dir, err)
			}
			defer adapter.close()
			j.report.LoRA = &adapter.info
		}
		if err := j.addCheckpointTensors(ck, p, cfg, adapter); err != nil {
			return nil, fmt.Errorf("convert %s (%s): %w", dir, fam, err)
		}
		if prefix != nil {
			shape := tensor.FromRowMajor(prefix.Shape...)
			j.tensors = append(j.tensors, jobTensor{name: arch.PrefixKV, shape: shape, src: &plainRows{t: prefix, rowLen: shape[0]}})
		}
	}
	if err := j.write(ctx, out, p, vocab, name, opt); err != nil {
		return nil, err
	}
	j.report.Duration = time.Since(start)
	return j.report, nil
}

// checkpointVocab loads the folder's tokenizer, or, for a ChatGLM-6B folder without ice_text.model or a
// GLM-4-0414 / GLM-Edge folder without tokenizer.json, only the special ids from config.json (the runtime
// then works on ids).
func checkpointVocab(dir string, fam arch.Family, p arch.Params, cfg *hfConfig, eos []int) (*Vocab, error) {
	path := filepath.Join(dir, TokenizerFile(fam))
	if _, err := os.Stat(path); err == nil {
		return LoadVocab(path, fam, p.Vocab, eos)
	}
	switch fam {
	case arch.FamilyChatGLM1, arch.FamilyGLM40414, arch.FamilyGLMEdge:
		// Folders whose tokenizer may be absent (ChatGLM-6B's ice_text.model is often not redistributed;
		// the transformers GLMs' tokenizer.json can be left out of a weights-only download).
	default:
		return nil, fmt.Errorf("%s is missing", TokenizerFile(fam))
	}
	v := &Vocab{Special: map[string]int32{}, ChatTemplate: chatTemplate(fam)}
	for name, id := range map[string]*int{"bos": cfg.BOSTokenID, "mask": cfg.MaskTokenID, "padding": cfg.PadTokenID} {
		if id != nil {
			v.Special[name] = int32(*id)
		}
	}
	for i, id := range eos {
		if i == 0 {
			v.Special["eos"] = int32(id)
		}
		v.Stop = append(v.Stop, int32(id))
	}
	return v, nil
}

func (j *job) addCheckpointTensors(ck *Weights, p arch.Params, cfg *hfConfig, adapter *loraAdapter) error {
	bits := 0
	if cfg.QuantizationBit != nil && *cfg.QuantizationBit != 0 {
		bits = *cfg.QuantizationBit
		if bits != 4 && bits != 8 {
			return fmt.Errorf("config.json: quantization_bit %d is not supported (want 4 or 8)", bits)
		}
	}
	used := map[string]bool{}
	maps := tensorMaps(p)
	if p.Family == arch.FamilyChatGLM1 {
		// chatglm.cpp keeps one copy of v1's lm_head, which equals the embedding (spec §2.1).
		emb, okE := ck.Tensor(maps[0].hf[0])
		head, okH := ck.Tensor("lm_head.weight")
		if okE && okH && emb.DType == head.DType && bytes.Equal(emb.Bytes(), head.Bytes()) {
			j.report.TiedLMHead = true
			used["lm_head.weight"] = true
			maps = maps[:len(maps)-1]
		}
	}
	for _, m := range maps {
		if m.gguf == arch.PrefixKV {
			continue // from prefixTensor, which may read another folder
		}
		if len(m.hf) > 1 {
			src, err := stackedSource(ck, m, used)
			if err != nil {
				return err
			}
			if src != nil {
				j.tensors = append(j.tensors, jobTensor{name: m.gguf, shape: tensor.FromRowMajor(m.shape...), src: src})
			}
			continue
		}
		hf := m.hf[0]
		t, ok := ck.Tensor(hf)
		if !ok {
			if m.optional {
				continue
			}
			return fmt.Errorf("tensor %q (for %s) is missing from the checkpoint", hf, m.gguf)
		}
		used[hf] = true
		shape := tensor.FromRowMajor(m.shape...)
		rowLen := shape[0]
		var src quantize.RowSource = &plainRows{t: t, rowLen: rowLen}
		if bits != 0 && isQuantizedLinear(hf) {
			scale, ok := ck.Tensor(hf + "_scale")
			if !ok {
				return fmt.Errorf("tensor %q: quantization_bit is %d but %s_scale is missing", hf, bits, hf)
			}
			used[hf+"_scale"] = true
			packed := []int64{m.shape[0], m.shape[1] * int64(bits) / 8}
			if t.DType != I8 || !slices.Equal(t.Shape, packed) || scale.Elements() != m.shape[0] || scale.DType == I8 {
				return fmt.Errorf("tensor %q in %s: %s %v with scale %v; config.json (int%d) says I8 %v with %d scales",
					hf, t.Shard, t.DType, t.Shape, scale.Shape, bits, packed, m.shape[0])
			}
			src = &quantizedRows{q: t, scale: scale, rowLen: rowLen, bits: bits}
		} else if !slices.Equal(t.Shape, m.shape) || t.DType == I8 {
			return fmt.Errorf("tensor %q in %s: %s shape %v, config.json says %v", hf, t.Shard, t.DType, t.Shape, m.shape)
		}
		j.tensors = append(j.tensors, jobTensor{name: m.gguf, shape: shape, src: src})
	}
	if adapter != nil {
		if err := adapter.merge(j.tensors, maps, ck); err != nil {
			return err
		}
	}
	for _, name := range ck.Names() {
		switch {
		case used[name], name == prefixEncoderName && p.PrefixLen > 0:
		case ignoredTensor(name):
			j.report.Ignored = append(j.report.Ignored, name)
		default:
			return fmt.Errorf("checkpoint tensor %q is not part of a %s model; is config.json right?", name, p.Family)
		}
	}
	return nil
}

// stackedSource pairs a GGUF tensor with the checkpoint tensors whose rows it stacks (q, k and v into
// QKV). Each part must have the tensor's row length (a vector: be a vector) and their rows must add up to
// its rows. An optional tensor none of whose parts is present gives nil (attention_bias false).
func stackedSource(ck *Weights, m tensorMap, used map[string]bool) (quantize.RowSource, error) {
	src := &stackedRows{vector: len(m.shape) == 1}
	var total int64
	for i, hf := range m.hf {
		t, ok := ck.Tensor(hf)
		if !ok {
			if i == 0 && m.optional {
				return nil, nil
			}
			return nil, fmt.Errorf("tensor %q (part %d of %s) is missing from the checkpoint", hf, i+1, m.gguf)
		}
		used[hf] = true
		switch {
		case t.DType == I8 || (i > 0 && t.DType != src.parts[0].DType):
			return nil, fmt.Errorf("tensor %q in %s: %s, where the other parts of %s are %s", hf, t.Shard, t.DType, m.gguf, src.parts[0].DType)
		case src.vector && len(t.Shape) != 1, !src.vector && (len(t.Shape) != 2 || t.Shape[1] != m.shape[1]):
			return nil, fmt.Errorf("tensor %q in %s: shape %v does not stack into %s of shape %v (part %d)", hf, t.Shard, t.Shape, m.gguf, m.shape, i+1)
		}
		src.parts = append(src.parts, t)
		src.rows = append(src.rows, t.Shape[0])
		total += t.Shape[0]
	}
	if total != m.shape[0] {
		return nil, fmt.Errorf("tensors %s: %d rows together, config.json says %d for %s", strings.Join(m.hf, ", "), total, m.shape[0], m.gguf)
	}
	src.rowLen = m.shape[len(m.shape)-1]
	if src.vector {
		src.rowLen = total
	}
	return src, nil
}

// write lays out types and metadata and streams every tensor through the quantizer into out.
func (j *job) write(ctx context.Context, out string, p arch.Params, vocab *Vocab, name string, opt Options) error {
	outType := opt.OutType
	if outType == "" {
		outType = "f16"
	}
	target, err := quantize.ParseTarget(outType)
	if err != nil {
		return err
	}
	infos := make([]gguf.TensorInfo, len(j.tensors))
	for i, t := range j.tensors {
		infos[i] = gguf.TensorInfo{Name: t.name, Type: tensor.F32, Shape: t.shape}
	}
	plan, err := quantize.Plan(infos, p.Blocks, quantize.Options{Target: target})
	if err != nil {
		return err
	}
	types := map[string]tensor.Type{}
	for _, d := range plan {
		types[d.Name] = d.To
	}
	meta := gguf.NewMetadata(
		gguf.KV{Key: arch.KeyArchitecture, Value: gguf.String(p.Family.Architecture())},
		gguf.KV{Key: arch.KeyType, Value: gguf.String("model")},
		gguf.KV{Key: arch.KeyName, Value: gguf.String(name)},
	)
	p.Write(meta, target.FileType)
	meta.Set(arch.KeyQuantizationVersion, gguf.Uint32(quantize.QuantizationVersion))
	if vocab != nil {
		vocab.Write(meta)
	}

	var total, done int64
	for _, t := range j.tensors {
		total += t.src.RowBytes() * t.shape.Rows()
	}
	progress := func(n int64) {
		done += n
		if opt.Progress != nil {
			opt.Progress(done, total)
		}
	}
	run := quantize.RunOptions{Threads: max(1, opt.Threads)}
	rep := j.report
	rep.FileType = target.FileType
	rep.Tensors = make([]quantize.TensorReport, len(j.tensors))
	sources := make([]gguf.TensorSource, len(j.tensors))
	var copyBuf []byte
	for i, t := range j.tensors {
		typ := types[t.name]
		outBytes, err := typ.Bytes(t.shape)
		if err != nil {
			return fmt.Errorf("tensor %s: %w", t.name, err)
		}
		rep.Tensors[i] = quantize.TensorReport{Decision: quantize.Decision{Name: t.name, From: tensor.F32, To: typ, Shape: t.shape},
			InBytes: t.src.RowBytes() * t.shape.Rows(), OutBytes: outBytes}
		rep.InBytes += rep.Tensors[i].InBytes
		rep.OutBytes += outBytes
		sources[i] = gguf.TensorSource{Name: t.name, Type: typ, Shape: t.shape, WriteTo: func(w io.Writer) error {
			if pr, ok := t.src.(*plainRows); ok && pr.t.DType.storedAs() == typ {
				if copyBuf == nil {
					copyBuf = make([]byte, copyChunk)
				}
				return copyRaw(ctx, w, pr.t, copyBuf, progress)
			}
			return quantize.Encode(ctx, w, t.src, t.shape, typ, run, nil, progress)
		}}
	}
	return gguf.WriteFile(ctx, out, meta, sources)
}

// copyChunk is the buffer copyRaw streams through.
const copyChunk = 8 << 20

// copyRaw writes a tensor whose checkpoint bytes already are the output encoding (an fp16 weight kept as
// F16). It reads with pread into one buffer, as cp does: no page-table work, so it runs at disk speed.
func copyRaw(ctx context.Context, w io.Writer, t *SourceTensor, buf []byte, progress func(int64)) error {
	size := int64(len(t.Bytes()))
	for off := int64(0); off < size; off += copyChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := buf[:min(copyChunk, size-off)]
		if err := t.ReadAt(chunk, off); err != nil {
			return fmt.Errorf("read %s from %s: %w", t.Name, t.Shard, err)
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		progress(int64(len(chunk)))
	}
	return nil
}
