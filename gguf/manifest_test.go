package gguf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/glmtool/glmtool/internal/testenv"
)

// manifest mirrors ../shared/testdata/gguf/manifest.json (written from llama.cpp-produced files).
type manifest struct {
	Files []struct {
		File       string `json:"file"`
		Size       int64  `json:"size"`
		Version    uint32 `json:"gguf_version"`
		Alignment  uint64 `json:"alignment"`
		DataOffset int64  `json:"data_offset"`
		NKV        int    `json:"n_kv"`
		NTensors   int    `json:"n_tensors"`
		Metadata   []struct {
			Key        string            `json:"key"`
			Type       string            `json:"type"`
			Value      json.RawMessage   `json:"value"`
			Bits       string            `json:"bits"`
			ElemType   string            `json:"elem_type"`
			Len        int               `json:"len"`
			Head       []json.RawMessage `json:"head"`
			SHA256Raw  string            `json:"sha256_raw"`
			SHA256JSON string            `json:"sha256_json"`
		} `json:"metadata"`
		Tensors []struct {
			Name   string  `json:"name"`
			Type   string  `json:"type"`
			TypeID uint32  `json:"type_id"`
			Ne     []int64 `json:"ne"`
			Offset uint64  `json:"offset"`
			NBytes int64   `json:"nbytes"`
			SHA256 string  `json:"sha256"`
		} `json:"tensors"`
	} `json:"files"`
}

func loadManifest(t *testing.T) (string, manifest) {
	dir := filepath.Dir(testenv.Path(t, "gguf", "manifest.json"))
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Files) == 0 {
		t.Fatal("manifest lists no files")
	}
	return dir, m
}

func marshalNoEscape(x any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// arrayPayload encodes an array's elements exactly as stored after its element-type and count header.
func arrayPayload(v Value) []byte {
	var buf bytes.Buffer
	e := &encoder{w: &buf}
	for i := range v.Len() {
		e.scalar(elemAt(v, i))
	}
	return buf.Bytes()
}

// canonicalJSON follows the manifest's definition: encoding/json without HTML escaping, floats widened to
// float64, no trailing newline.
func canonicalJSON(t *testing.T, v Value) []byte {
	var x any
	switch a := v.Any().(type) {
	case []float32:
		f := make([]float64, len(a))
		for i := range a {
			f[i] = float64(a[i])
		}
		x = f
	case []int32:
		n := make([]int64, len(a))
		for i := range a {
			n[i] = int64(a[i])
		}
		x = n
	default:
		x = a
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestReadMatchesManifest(t *testing.T) {
	dir, m := loadManifest(t)
	for _, want := range m.Files {
		t.Run(want.File, func(t *testing.T) {
			f, err := Open(filepath.Join(dir, want.File))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.FileSize != want.Size || f.Version != want.Version || f.Alignment != want.Alignment || f.DataOffset != want.DataOffset {
				t.Errorf("header: size %d version %d alignment %d data %d, want %d %d %d %d", f.FileSize, f.Version,
					f.Alignment, f.DataOffset, want.Size, want.Version, want.Alignment, want.DataOffset)
			}
			if f.Meta.Len() != want.NKV || len(f.Tensors) != want.NTensors {
				t.Fatalf("%d kv and %d tensors, want %d and %d", f.Meta.Len(), len(f.Tensors), want.NKV, want.NTensors)
			}
			for i, wk := range want.Metadata {
				kv := f.Meta.KVs()[i]
				if kv.Key != wk.Key || kv.Value.Type().String() != wk.Type {
					t.Errorf("kv[%d] = %s %s, want %s %s", i, kv.Key, kv.Value.Type(), wk.Key, wk.Type)
					continue
				}
				checkManifestValue(t, kv, wk.Value, wk.Bits, wk.ElemType, wk.Len, wk.Head, wk.SHA256Raw, wk.SHA256JSON)
			}
			for i, wt := range want.Tensors {
				ti := f.Tensors[i]
				if ti.Name != wt.Name || ti.Type.String() != wt.Type || uint32(ti.Type) != wt.TypeID ||
					fmt.Sprint([]int64(ti.Shape)) != fmt.Sprint(wt.Ne) || ti.Offset != wt.Offset || ti.Size != wt.NBytes {
					t.Errorf("tensor[%d] = %s %s(%d) %v @%d %d bytes, want %s %s(%d) %v @%d %d", i, ti.Name, ti.Type, ti.Type,
						ti.Shape, ti.Offset, ti.Size, wt.Name, wt.Type, wt.TypeID, wt.Ne, wt.Offset, wt.NBytes)
					continue
				}
				if got := sha(f.Data(&ti)); got != wt.SHA256 {
					t.Errorf("tensor %s: sha256 %s, want %s", ti.Name, got, wt.SHA256)
				}
			}
		})
	}
}

func checkManifestValue(t *testing.T, kv KV, value json.RawMessage, bits, elemType string, n int, head []json.RawMessage, shaRaw, shaJSON string) {
	t.Helper()
	v := kv.Value
	switch v.Type() {
	case TypeArray:
		if v.ElemType().String() != elemType || v.Len() != n {
			t.Errorf("%s: array[%s] of %d, want array[%s] of %d", kv.Key, v.ElemType(), v.Len(), elemType, n)
			return
		}
		if got := sha(arrayPayload(v)); got != shaRaw {
			t.Errorf("%s: raw payload sha256 %s, want %s", kv.Key, got, shaRaw)
		}
		if got := sha(canonicalJSON(t, v)); got != shaJSON {
			t.Errorf("%s: json sha256 %s, want %s", kv.Key, got, shaJSON)
		}
		for i, h := range head {
			got := marshalNoEscape(elemAt(v, i))
			if v.ElemType() == TypeFloat32 {
				var w float64
				_ = json.Unmarshal(h, &w)
				if float32(w) != elemAt(v, i).(float32) {
					t.Errorf("%s[%d] = %s, want %s", kv.Key, i, got, h)
				}
			} else if string(got) != string(h) {
				t.Errorf("%s[%d] = %s, want %s", kv.Key, i, got, h)
			}
		}
	case TypeFloat32:
		want, err := strconv.ParseUint(bits, 0, 32)
		if err != nil {
			t.Fatalf("%s: bad bits %q", kv.Key, bits)
		}
		if got := math.Float32bits(v.Any().(float32)); uint64(got) != want {
			t.Errorf("%s: bits %#x, want %#x", kv.Key, got, want)
		}
	default:
		got := marshalNoEscape(v.Any())
		if string(got) != string(value) {
			t.Errorf("%s = %s, want %s", kv.Key, got, value)
		}
	}
}

// TestRoundTripByteIdentical writes every fixture back with keys and tensors in their original order; the
// result must equal the llama.cpp-written file byte for byte.
func TestRoundTripByteIdentical(t *testing.T) {
	dir, m := loadManifest(t)
	for _, want := range m.Files {
		t.Run(want.File, func(t *testing.T) {
			path := filepath.Join(dir, want.File)
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var buf bytes.Buffer
			if err := Write(context.Background(), &buf, f.Meta, f.Sources()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), f.Bytes()) {
				t.Fatalf("rewritten file differs: %d bytes vs %d (sha %s vs %s)", buf.Len(), f.FileSize, sha(buf.Bytes()), sha(f.Bytes()))
			}
		})
	}
}
