package convert

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/internal/hfwrite"
	"github.com/glmtool/glmtool/internal/mmap"
)

// sampleTorchZip is a small valid torch.save archive.
func sampleTorchZip(f *testing.F) []byte {
	path := filepath.Join(f.TempDir(), "s.bin")
	ts := []hfwrite.Tensor{
		{Name: "a.weight", DType: "F16", Shape: []int64{2, 3}, Fill: hfwrite.Data(make([]byte, 12))},
		{Name: "b.bias", DType: "F32", Shape: []int64{3}, Fill: hfwrite.Data(make([]byte, 12))},
	}
	if err := hfwrite.WriteTorchBin(path, ts, hfwrite.TorchOptions{}); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzPickle feeds arbitrary bytes to the pickle sanitizer and the restricted unpickler: no input may make
// them panic, hang or allocate more than the input justifies.
func FuzzPickle(f *testing.F) {
	ts := []hfwrite.Tensor{{Name: "w", DType: "F16", Shape: []int64{4, 2}}, {Name: "b", DType: "BF16", Shape: []int64{4}}}
	f.Add(hfwrite.StatePickle(ts))
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."))
	f.Add([]byte("\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94K\x01u."))
	f.Add([]byte("\x80\x02X\xff\xff\xff\x7f."))
	f.Fuzz(func(t *testing.T, data []byte) {
		clean, err := sanitizePickle(data, pickleOpBudget(len(data)/64))
		if err != nil {
			return
		}
		_, _ = unpickle(clean)
	})
}

// FuzzTorchZip opens arbitrary bytes as a .bin shard.
func FuzzTorchZip(f *testing.F) {
	f.Add(sampleTorchZip(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
			return
		}
		tensors, err := readTorchZip("fuzz.bin", &mmap.Map{Data: data})
		if err != nil {
			return
		}
		for _, ts := range tensors {
			if int64(len(ts.Bytes())) != ts.Elements()*ts.DType.Size() {
				t.Fatalf("tensor %s: %d bytes for %d elements", ts.Name, len(ts.Bytes()), ts.Elements())
			}
		}
	})
}

// FuzzTokenizers parses arbitrary bytes as SentencePiece protobuf and as a tiktoken rank file.
func FuzzTokenizers(f *testing.F) {
	f.Add([]byte("\x0a\x0b\x0a\x05<unk>\x15\x00\x00\x00\x00\x18\x02"))
	f.Add([]byte("IQ== 0\nIg== 1\n"))
	f.Add([]byte("\x0a\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = parseSPM(data)
		if ranks, err := parseTiktoken(data); err == nil {
			_, _ = bpeMerges(ranks)
		}
	})
}

// FuzzSafetensors opens arbitrary bytes as a .safetensors shard.
func FuzzSafetensors(f *testing.F) {
	path := filepath.Join(f.TempDir(), "s.safetensors")
	ts := []hfwrite.Tensor{{Name: "w", DType: "BF16", Shape: []int64{2, 2}, Fill: hfwrite.Data(make([]byte, 8))}}
	if err := hfwrite.WriteSafetensors(path, ts); err != nil {
		f.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		tensors, err := readSafetensors("fuzz.safetensors", &mmap.Map{Data: data})
		if err != nil {
			return
		}
		for _, ts := range tensors {
			if int64(len(ts.Bytes())) != ts.Elements()*ts.DType.Size() {
				t.Fatalf("tensor %s: %d bytes for %d elements", ts.Name, len(ts.Bytes()), ts.Elements())
			}
		}
	})
}

// FuzzHFConfig feeds arbitrary bytes as config.json, tokenizer_config.json and the weight index of a
// folder: detection, hyper-parameters, eos ids and the index reader may refuse them, never panic or
// accept hyper-parameters out of range.
func FuzzHFConfig(f *testing.F) {
	f.Add([]byte(`{"model_type":"chatglm","_name_or_path":"THUDM/chatglm3-6b","hidden_size":64,"num_layers":2,` +
		`"num_attention_heads":4,"kv_channels":16,"multi_query_group_num":2,"multi_query_attention":true,"ffn_hidden_size":128,` +
		`"padded_vocab_size":65024,"seq_length":8192,"layernorm_epsilon":1e-5,"eos_token_id":2}`))
	f.Add([]byte(`{"model_type":"chatglm","position_encoding_2d":true,"hidden_size":64,"num_layers":1,"num_attention_heads":4,` +
		`"inner_hidden_size":256,"vocab_size":130528,"max_sequence_length":2048,"eos_token_id":[130005,1],"rope_ratio":500}`))
	f.Add([]byte(`{"weight_map":{"a.weight":"model-00001-of-00002.safetensors","b":"../x"}}`))
	f.Add([]byte(`{"tokenizer_class":"ChatGLM4Tokenizer","name_or_path":"THUDM/glm-4-9b-chat"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"config.json", "tokenizer_config.json", "model.safetensors.index.json"} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if w, err := OpenWeights(dir); err == nil {
			_ = w.Close()
		}
		cfg, err := readConfig(dir)
		if err != nil {
			return
		}
		_, _ = cfg.eosIDs()
		fam, err := detectFamily(dir, cfg, "")
		if err != nil {
			return
		}
		p, err := paramsOf(cfg, fam)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("params accepted from config.json fail validation: %v", err)
		}
	})
}

// FuzzTokenizerJSON: tokenizer.json files (GLM-4-0414, GLM-Edge) either give a vocabulary whose every
// merge joins two of its pieces, or an error; the vocabulary never exceeds the rows asked for.
func FuzzTokenizerJSON(f *testing.F) {
	pre := `"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":` + mustJSON(glm4PreTokenizerRegex) +
		`}},{"type":"ByteLevel","use_regex":false}]}`
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},` + pre + `}`))
	f.Add([]byte(`{"added_tokens":[{"id":3,"content":"<|user|>","special":true}],"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},` + pre + `}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":7},"merges":[]},"pre_tokenizer":{"type":"ByteLevel","use_regex":true}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		const rows = 64
		v, err := tokenizerJSONVocab(data, arch.FamilyGLMEdge, rows)
		if err != nil {
			return
		}
		if len(v.Tokens) != rows || len(v.Types) != rows {
			t.Fatalf("%d tokens, %d types for %d rows", len(v.Tokens), len(v.Types), rows)
		}
		pieces := map[string]bool{}
		for _, tok := range v.Tokens {
			pieces[tok] = true
		}
		for _, m := range v.Merges {
			a, b, ok := strings.Cut(m, " ")
			if !ok || !pieces[a] || !pieces[b] || !pieces[a+b] {
				t.Fatalf("merge %q does not join two pieces into a third", m)
			}
		}
	})
}
