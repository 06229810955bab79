package gguf

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// raw builds GGUF bytes field by field so that tests can damage any one field.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { _ = binary.Write(r, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { _ = binary.Write(r, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func (r *raw) header(version uint32, nTensors, nKV uint64) *raw {
	r.WriteString("GGUF")
	return r.u32(version).u64(nTensors).u64(nKV)
}
func (r *raw) kvU32(key string, v uint32) *raw { return r.str(key).u32(uint32(TypeUint32)).u32(v) }
func (r *raw) info(name string, typ tensor.Type, offset uint64, ne ...uint64) *raw {
	r.str(name).u32(uint32(len(ne)))
	for _, d := range ne {
		r.u64(d)
	}
	return r.u32(uint32(typ)).u64(offset)
}
func (r *raw) padData(n int) *raw {
	for r.Len()%32 != 0 {
		r.WriteByte(0)
	}
	r.Write(make([]byte, n))
	return r
}

// oneTensor is a valid file: one key, one F32 tensor of 8 elements (32 bytes).
func oneTensor() *raw {
	r := &raw{}
	r.header(3, 1, 1).kvU32("a.b", 7).info("w", tensor.F32, 0, 8)
	return r.padData(32)
}

func TestParseErrors(t *testing.T) {
	valid := oneTensor().Bytes()
	if _, err := Parse("ok.gguf", valid); err != nil {
		t.Fatalf("the valid base file fails: %v", err)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "gguf f.gguf: offset 0: magic: needs 4 bytes, only 0 left in the file"},
		{"bad magic", append([]byte("GGML"), valid[4:]...), `gguf f.gguf: offset 0: magic: got "GGML", want "GGUF": not a GGUF file`},
		{"v1", (&raw{}).header(1, 0, 0).Bytes(), "gguf f.gguf: offset 4: version: GGUF v1 is not supported (32-bit counts); re-convert the model"},
		{"v9", (&raw{}).header(9, 0, 0).Bytes(), "gguf f.gguf: offset 4: version: unsupported version 9 (want 2 or 3)"},
		{"truncated header", valid[:20], "gguf f.gguf: offset 16: n_kv: needs 8 bytes, only 4 left in the file"},
		{"huge n_kv", (&raw{}).header(3, 0, 1<<62).Bytes(), "gguf f.gguf: offset 16: n_kv: claims 4611686018427387904 key/value pairs, but only 0 bytes follow"},
		{"huge n_tensors", (&raw{}).header(3, 1<<40, 0).u64(0).Bytes(), "gguf f.gguf: offset 8: n_tensors: claims 1099511627776 tensors, but only 8 bytes follow"},
		{"huge key length", (&raw{}).header(3, 0, 1).u64(1 << 60).u32(0).u8s(9).Bytes(), `gguf f.gguf: offset 24: kv[0] key: string length 1152921504606846976 exceeds the 5 bytes left in the file`},
		{"unknown value type", (&raw{}).header(3, 0, 1).str("k").u32(13).u32(0).Bytes(), `gguf f.gguf: offset 33: kv[0] "k" type: unknown value type 13`},
		{"nested array", (&raw{}).header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeArray)).u64(0).Bytes(), `gguf f.gguf: offset 37: kv[0] "k" array type: nested arrays are not allowed`},
		{"huge array", (&raw{}).header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint32)).u64(1 << 50).Bytes(), `gguf f.gguf: offset 41: kv[0] "k" array length: claims 1125899906842624 elements of UINT32, but only 0 bytes are left`},
		{"huge string array", (&raw{}).header(3, 0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeString)).u64(3).u64(0).Bytes(), `gguf f.gguf: offset 41: kv[0] "k" array length: claims 3 elements of STRING, but only 8 bytes are left`},
		{"duplicate key", (&raw{}).header(3, 0, 2).kvU32("k", 1).kvU32("k", 2).Bytes(), `gguf f.gguf: offset 41: kv[1] key: duplicate key "k"`},
		{"bad bool", (&raw{}).header(3, 0, 1).str("k").u32(uint32(TypeBool)).u8s(2).Bytes(), `gguf f.gguf: offset 37: kv[0] "k": bool byte is 2, want 0 or 1`},
		{"alignment not power of two", (&raw{}).header(3, 0, 1).kvU32(KeyAlignment, 48).Bytes(), "gguf f.gguf: offset 24: general.alignment: 48 is not a power of two"},
		{"long tensor name", (&raw{}).header(3, 1, 0).info(strings.Repeat("x", 64), tensor.F32, 0, 8).padData(32).Bytes(), `gguf f.gguf: offset 24: tensor[0] name: name of 64 bytes is longer than 63: "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"...`},
		{"zero dims", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" n_dims: 0, want 1 to 4`},
		{"five dims", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0, 1, 1, 1, 1, 1).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" n_dims: 5, want 1 to 4`},
		{"zero dim", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0, 8, 0).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" ne: dimension 1 is 0, want > 0`},
		{"negative dim", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0, 1<<63).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" ne: dimension 0 is -9223372036854775808, want > 0`},
		{"overflowing dims", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0, 1<<32, 1<<32).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" ne: element count of [4294967296 4294967296] overflows int64`},
		{"overflowing bytes", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 0, 1<<31, 1<<31).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" ne: byte size of F32 [2147483648 2147483648] overflows int64`},
		{"row not a block multiple", (&raw{}).header(3, 1, 0).info("w", tensor.Q4_0, 0, 48).padData(64).Bytes(), `gguf f.gguf: offset 33: tensor[0] "w" ne: Q4_0: row of 48 elements is not a multiple of the block size 32`},
		{"unknown ggml type", (&raw{}).header(3, 1, 0).info("w", tensor.Type(4), 0, 8).padData(64).Bytes(), `gguf f.gguf: offset 45: tensor[0] "w" type: unknown ggml type 4`},
		{"unaligned offset", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 8, 8).padData(64).Bytes(), `gguf f.gguf: offset 49: tensor[0] "w" offset: 8 is not a multiple of the alignment 32`},
		{"duplicate tensor", (&raw{}).header(3, 2, 0).info("w", tensor.F32, 0, 8).info("w", tensor.F32, 32, 8).padData(64).Bytes(), `gguf f.gguf: offset 57: tensor[1] name: duplicate tensor name "w"`},
		{"data past end", valid[:len(valid)-1], `gguf f.gguf: offset 96: tensor "w": data [0, 32) runs past the end of the file (data section holds 31 bytes)`},
		{"overlapping tensors", (&raw{}).header(3, 2, 0).info("a", tensor.F32, 0, 16).info("b", tensor.F32, 32, 8).padData(96).Bytes(), `gguf f.gguf: offset 128: tensor "b": data at 32 overlaps tensor "a" [0, 64)`},
		{"offset past end", (&raw{}).header(3, 1, 0).info("w", tensor.F32, 1<<62, 8).padData(32).Bytes(), `gguf f.gguf: offset 96: tensor "w": data [4611686018427387904, 4611686018427387936) runs past the end of the file (data section holds 32 bytes)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.gguf", c.data)
			if c.want == "" {
				t.Logf("%v", err)
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if err.Error() != c.want {
				t.Fatalf("error\n got: %s\nwant: %s", err, c.want)
			}
		})
	}
}

func (r *raw) u8s(vals ...byte) *raw { r.Write(vals); return r }
