package tensor

import (
	"strings"
	"testing"
)

func TestTypeTable(t *testing.T) {
	cases := []struct {
		typ        Type
		name       string
		block, siz int
		bpw        float64
	}{
		{F32, "F32", 1, 4, 32}, {F16, "F16", 1, 2, 16}, {BF16, "BF16", 1, 2, 16}, {Q4_0, "Q4_0", 32, 18, 4.5},
		{Q4_1, "Q4_1", 32, 20, 5}, {Q5_0, "Q5_0", 32, 22, 5.5}, {Q5_1, "Q5_1", 32, 24, 6}, {Q8_0, "Q8_0", 32, 34, 8.5},
		{Q2_K, "Q2_K", 256, 84, 2.625}, {Q3_K, "Q3_K", 256, 110, 3.4375}, {Q4_K, "Q4_K", 256, 144, 4.5},
		{Q5_K, "Q5_K", 256, 176, 5.5}, {Q6_K, "Q6_K", 256, 210, 6.5625}, {Q8_K, "Q8_K", 256, 292, 9.125},
		{I8, "I8", 1, 1, 8}, {I16, "I16", 1, 2, 16}, {I32, "I32", 1, 4, 32}, {I64, "I64", 1, 8, 64}, {F64, "F64", 1, 8, 64},
	}
	for _, c := range cases {
		if c.typ.String() != c.name || c.typ.BlockSize() != c.block || c.typ.BlockBytes() != c.siz || c.typ.BitsPerWeight() != c.bpw {
			t.Errorf("%d: %s block %d size %d bpw %g; want %s %d %d %g", c.typ, c.typ, c.typ.BlockSize(), c.typ.BlockBytes(),
				c.typ.BitsPerWeight(), c.name, c.block, c.siz, c.bpw)
		}
		for _, spelling := range []string{c.name, strings.ToLower(c.name)} {
			if p, err := ParseType(spelling); err != nil || p != c.typ {
				t.Errorf("ParseType(%q) = %v, %v", spelling, p, err)
			}
		}
	}
	for _, removed := range []Type{4, 5, 31, 32, 33, 36, 99} {
		if removed.Known() {
			t.Errorf("type %d should be unknown", removed)
		}
		if _, err := removed.RowBytes(32); err == nil {
			t.Errorf("RowBytes of unknown type %d succeeded", removed)
		}
	}
}

func TestBytes(t *testing.T) {
	cases := []struct {
		typ   Type
		shape Shape
		want  int64
		err   string
	}{
		{F16, FromRowMajor(65024, 4096), 65024 * 4096 * 2, ""},
		{Q4_0, Shape{4096, 4608}, 4096 / 32 * 18 * 4608, ""},
		{Q6_K, Shape{4096, 65024}, 16 * 210 * 65024, ""},
		{Q4_K, Shape{13696, 4096}, 0, "Q4_K: row of 13696 elements is not a multiple of the block size 256"},
		{F32, Shape{}, 0, "0 dimensions, want 1 to 4"},
		{F32, Shape{1, 2, 3, 4, 5}, 0, "5 dimensions, want 1 to 4"},
		{F32, Shape{-1}, 0, "dimension 0 is -1, want > 0"},
		{F32, Shape{1 << 62, 4}, 0, "element count of [4611686018427387904 4] overflows int64"},
		{F32, Shape{1 << 61, 2}, 0, "byte size of F32 [2305843009213693952 2] overflows int64"},
	}
	for _, c := range cases {
		got, err := c.typ.Bytes(c.shape)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s %v: error %v, want %q", c.typ, c.shape, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s %v: %d, %v; want %d", c.typ, c.shape, got, err, c.want)
		}
	}
}

func TestShapeOrder(t *testing.T) {
	s := FromRowMajor(4608, 4096) // PyTorch (out, in)
	if s[0] != 4096 || s[1] != 4608 || s.Rows() != 4608 || s.Elements() != 4608*4096 {
		t.Fatalf("FromRowMajor(4608, 4096) = %v", s)
	}
	if rm := s.RowMajor(); rm[0] != 4608 || rm[1] != 4096 {
		t.Fatalf("RowMajor = %v", rm)
	}
	if s.String() != "[4096, 4608]" {
		t.Fatalf("String = %s", s)
	}
}

func TestFileTypeNames(t *testing.T) {
	for ft, want := range map[FileType]string{0: "F32", 1: "F16", 2: "Q4_0", 7: "Q8_0", 15: "Q4_K_M", 32: "BF16", 1024 + 2: "Q4_0 (guessed)", 99: "unknown(99)"} {
		if ft.String() != want {
			t.Errorf("FileType(%d) = %s, want %s", ft, ft, want)
		}
	}
}
