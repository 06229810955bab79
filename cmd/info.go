package cmd

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/tensor"
)

type infoOptions struct {
	tensors    bool
	json       bool
	fullArrays bool
	wide       bool
}

func (a *app) infoCommand() *cobra.Command {
	var opt infoOptions
	c := &cobra.Command{
		Use:   "info FILE.gguf",
		Short: "Show a GGUF file: model, hyper-parameters, tokenizer, metadata and tensors",
		Long: `Show what a GGUF file holds: architecture, name, parameter count, file type, size and bits per
weight, the model's hyper-parameters, a tokenizer summary and the metadata table. Arrays are summarised
unless --full-arrays is given. The file is memory-mapped, so this is instant even for large models.`,
		Example: `  glmtool info chatglm3-6b-q4_0.gguf
  glmtool info --tensors model.gguf
  glmtool info --json model.gguf | jq .parameters`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			s := summarize(f, opt.fullArrays)
			if opt.json {
				return writeJSON(a.stdout, s, false)
			}
			return s.render(a.stdout, opt)
		},
	}
	c.Flags().BoolVar(&opt.tensors, "tensors", false, "add a table of every tensor (name, type, shape, bytes)")
	c.Flags().BoolVar(&opt.json, "json", false, "print everything (tensors included) as one JSON object")
	c.Flags().BoolVar(&opt.fullArrays, "full-arrays", false, "print metadata arrays whole instead of summarised")
	c.Flags().BoolVar(&opt.wide, "wide", false, "show long metadata values in full width instead of fitting 100 columns")
	return c
}

// fileSummary is what info shows; its JSON form is part of the command's interface for scripts.
type fileSummary struct {
	File           string          `json:"file"`
	SizeBytes      int64           `json:"size_bytes"`
	GGUFVersion    uint32          `json:"gguf_version"`
	Alignment      uint64          `json:"alignment"`
	DataOffset     int64           `json:"data_offset"`
	Architecture   string          `json:"architecture"`
	Name           string          `json:"name,omitempty"`
	Parameters     int64           `json:"parameters"`
	FileType       *fileTypeJSON   `json:"file_type,omitempty"`
	BitsPerWeight  float64         `json:"bits_per_weight"`
	TensorTypes    map[string]int  `json:"tensor_types"`
	HyperParams    []metaEntry     `json:"hyperparameters"`
	Tokenizer      *tokenizerInfo  `json:"tokenizer,omitempty"`
	Adapter        *adapterInfo    `json:"adapter,omitempty"`
	PrefixLength   int             `json:"ptuning_prefix_length,omitempty"`
	Metadata       []metaEntry     `json:"metadata"`
	Tensors        []tensorSummary `json:"tensors"`
	tensorByteSize int64
}

// adapterInfo describes a LoRA adapter file: its alpha, the weights it adapts and their ranks.
type adapterInfo struct {
	Type    string  `json:"type"`
	Alpha   float32 `json:"alpha"`
	Weights int     `json:"weights"`
	MinRank int64   `json:"min_rank"`
	MaxRank int64   `json:"max_rank"`
}

// summarizeAdapter reads what a LoRA adapter file holds (nil for a model).
func summarizeAdapter(f *gguf.File) *adapterInfo {
	if typ, _ := f.Meta.String(arch.KeyType); typ != "adapter" {
		return nil
	}
	a := &adapterInfo{}
	a.Type, _ = f.Meta.String(arch.KeyAdapterType)
	a.Alpha, _ = f.Meta.Float32(arch.KeyAdapterLoRAAlpha)
	for _, t := range f.Tensors {
		if strings.HasSuffix(t.Name, ".lora_a") && len(t.Shape) == 2 {
			r := t.Shape[1]
			if a.Weights == 0 || r < a.MinRank {
				a.MinRank = r
			}
			a.MaxRank = max(a.MaxRank, r)
			a.Weights++
		}
	}
	return a
}

type fileTypeJSON struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

type metaEntry struct {
	Key      string `json:"key"`
	Type     string `json:"type"`
	ElemType string `json:"elem_type,omitempty"`
	Len      *int   `json:"len,omitempty"`
	Value    any    `json:"value"`
	text     string
	value    gguf.Value // to summarise arrays to the width the table has for them
}

type tokenizerInfo struct {
	Model        string         `json:"model"`
	Pre          string         `json:"pre,omitempty"`
	VocabSize    int            `json:"vocab_size"`
	Merges       int            `json:"merges,omitempty"`
	SpecialIDs   map[string]int `json:"special_ids"`
	ChatTemplate bool           `json:"chat_template"`
	pieces       map[string]string
}

type tensorSummary struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Shape  []int64 `json:"shape"`
	Bytes  int64   `json:"bytes"`
	Offset uint64  `json:"offset"`
}

// arrayHead is how many elements of an array are shown when arrays are summarised.
const arrayHead = 8

func summarize(f *gguf.File, fullArrays bool) *fileSummary {
	s := &fileSummary{
		File: f.Path, SizeBytes: f.FileSize, GGUFVersion: f.Version, Alignment: f.Alignment, DataOffset: f.DataOffset,
		Parameters: f.ParameterCount(), TensorTypes: map[string]int{}, tensorByteSize: f.TensorBytes(),
	}
	s.Architecture, _ = f.Meta.String(arch.KeyArchitecture)
	s.Name, _ = f.Meta.String(arch.KeyName)
	if ft, err := f.Meta.Uint32(arch.KeyFileType); err == nil {
		s.FileType = &fileTypeJSON{ID: ft, Name: tensor.FileType(ft).String()}
	}
	if s.Parameters > 0 {
		s.BitsPerWeight = float64(s.tensorByteSize*8) / float64(s.Parameters)
	}
	for _, kv := range f.Meta.KVs() {
		e := newMetaEntry(kv, fullArrays)
		s.Metadata = append(s.Metadata, e)
		if s.Architecture != "" && strings.HasPrefix(kv.Key, s.Architecture+".") {
			s.HyperParams = append(s.HyperParams, e)
		}
	}
	s.Tokenizer = summarizeTokenizer(f.Meta)
	s.Adapter = summarizeAdapter(f)
	if n, err := f.Meta.Int(arch.KeyPrefixLength); err == nil {
		s.PrefixLength = int(n)
	}
	s.Tensors = make([]tensorSummary, len(f.Tensors))
	for i, t := range f.Tensors {
		s.TensorTypes[t.Type.String()]++
		s.Tensors[i] = tensorSummary{Name: t.Name, Type: t.Type.String(), Shape: t.Shape, Bytes: t.Size, Offset: t.Offset}
	}
	return s
}

func newMetaEntry(kv gguf.KV, full bool) metaEntry {
	v := kv.Value
	e := metaEntry{Key: kv.Key, Type: v.Type().String(), Value: v.Any(), text: v.String(), value: v}
	if v.Type() != gguf.TypeArray {
		return e
	}
	n := v.Len()
	e.ElemType, e.Len = v.ElemType().String(), &n
	if !full && n > arrayHead {
		e.Value = headOf(v.Any(), arrayHead)
	}
	if full {
		e.text = fmt.Sprint(v.Any())
	}
	return e
}

// headOf returns the first n elements of any slice value.
func headOf(x any, n int) any {
	switch a := x.(type) {
	case []string:
		return a[:n]
	case []float32:
		return a[:n]
	case []int32:
		return a[:n]
	case []uint32:
		return a[:n]
	case []uint8:
		return a[:n]
	case []int8:
		return a[:n]
	case []uint16:
		return a[:n]
	case []int16:
		return a[:n]
	case []bool:
		return a[:n]
	case []uint64:
		return a[:n]
	case []int64:
		return a[:n]
	case []float64:
		return a[:n]
	}
	return x
}

// specialTokenKeys are the tokenizer.ggml.*_token_id keys llama.cpp reads.
var specialTokenKeys = []string{"bos", "eos", "eot", "eom", "unknown", "separator", "padding", "cls", "mask"}

func summarizeTokenizer(m *gguf.Metadata) *tokenizerInfo {
	model, err := m.String(arch.KeyTokenizerModel)
	if err != nil {
		return nil
	}
	t := &tokenizerInfo{Model: model, SpecialIDs: map[string]int{}, pieces: map[string]string{}}
	t.Pre, _ = m.String(arch.KeyTokenizerPre)
	tokens, _ := m.Strings(arch.KeyTokens)
	t.VocabSize = len(tokens)
	if merges, err := m.Strings(arch.KeyMerges); err == nil {
		t.Merges = len(merges)
	}
	for _, name := range specialTokenKeys {
		id, err := m.Int(arch.SpecialTokenKey(name))
		if err != nil {
			continue
		}
		t.SpecialIDs[name] = int(id)
		if id >= 0 && int(id) < len(tokens) {
			t.pieces[name] = tokens[id]
		}
	}
	t.ChatTemplate = m.Has(arch.KeyChatTemplate)
	return t
}

func (s *fileSummary) render(w io.Writer, opt infoOptions) error {
	p := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-14s %s\n", label+":", fmt.Sprintf(format, args...))
	}
	p("file", "%s (%s, GGUF v%d)", s.File, formatBytes(s.SizeBytes), s.GGUFVersion)
	p("architecture", "%s", orNone(s.Architecture))
	if s.Name != "" {
		p("name", "%s", s.Name)
	}
	p("parameters", "%s (%d)", formatCount(s.Parameters), s.Parameters)
	if s.FileType != nil {
		p("file type", "%s", s.FileType.Name)
	}
	p("tensor data", "%s, %.2f bits per weight", formatBytes(s.tensorByteSize), s.BitsPerWeight)
	p("tensors", "%d (%s)", len(s.Tensors), typeCounts(s.TensorTypes))
	if a := s.Adapter; a != nil {
		rank := fmt.Sprint(a.MinRank)
		if a.MaxRank != a.MinRank {
			rank = fmt.Sprintf("%d to %d", a.MinRank, a.MaxRank)
		}
		p("adapter", "%s: %d weights of rank %s, alpha %g (apply with --lora FILE[:SCALE])", orNone(a.Type), a.Weights, rank, a.Alpha)
	}
	if s.PrefixLength > 0 {
		p("fine-tune", "P-Tuning v2 prefix of %d slots in every layer's cache", s.PrefixLength)
	}

	if len(s.HyperParams) > 0 {
		fmt.Fprintln(w, "\nhyper-parameters")
		for _, e := range s.HyperParams {
			fmt.Fprintf(w, "  %-42s %s\n", strings.TrimPrefix(e.Key, s.Architecture+"."), e.text)
		}
	}
	if t := s.Tokenizer; t != nil {
		fmt.Fprintln(w, "\ntokenizer")
		pre := ""
		if t.Pre != "" {
			pre = ", pre-tokenizer " + t.Pre
		}
		fmt.Fprintf(w, "  %-14s %s%s\n", "model", t.Model, pre)
		fmt.Fprintf(w, "  %-14s %d tokens", "vocabulary", t.VocabSize)
		if t.Merges > 0 {
			fmt.Fprintf(w, ", %d merges", t.Merges)
		}
		fmt.Fprintln(w)
		for _, name := range specialTokenKeys {
			if id, ok := t.SpecialIDs[name]; ok {
				fmt.Fprintf(w, "  %-14s %d %q\n", name, id, t.pieces[name])
			}
		}
		fmt.Fprintf(w, "  %-14s %v\n", "chat template", yesNo(t.ChatTemplate))
	}

	fmt.Fprintf(w, "\nmetadata (%d keys)\n", len(s.Metadata))
	headers := []string{"key", "type", "value"}
	var rows [][]string
	for _, e := range s.Metadata {
		typ := e.Type
		if e.ElemType != "" {
			typ = fmt.Sprintf("%s[%s]", e.Type, e.ElemType)
		}
		rows = append(rows, []string{e.Key, typ, e.text})
	}
	// Values fit the table into 100 columns; --wide allows 90 characters, --full-arrays everything.
	valueWidth := fitColumn(headers, rows, 2, 24)
	switch {
	case opt.fullArrays:
		valueWidth = math.MaxInt
	case opt.wide:
		valueWidth = 90
	}
	for i, r := range rows {
		if e := s.Metadata[i]; e.ElemType != "" && !opt.fullArrays && !opt.wide {
			// Fewer elements rather than a cut "... (N total)": the count is what matters.
			r[2] = e.value.Summary(max(8, valueWidth-18))
		}
		r[2] = truncate(r[2], valueWidth)
	}
	if err := writeTable(w, headers, rows, nil); err != nil {
		return err
	}
	if !opt.tensors {
		return nil
	}
	fmt.Fprintf(w, "\ntensors (%d)\n", len(s.Tensors))
	var trows [][]string
	for i, t := range s.Tensors {
		trows = append(trows, []string{fmt.Sprint(i), t.Name, t.Type, tensor.Shape(t.Shape).String(), formatBytes(t.Bytes)})
	}
	return writeTable(w, []string{"#", "name", "type", "shape", "bytes"}, trows, nil)
}

func typeCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
