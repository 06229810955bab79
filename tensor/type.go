package tensor

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor element type, numbered exactly as ggml numbers it on disk (ggml.h enum ggml_type).
type Type uint32

// The ggml types. Ids 4, 5, 31-33 and 36-38 were removed from ggml and are unknown here.
const (
	F32     Type = 0
	F16     Type = 1
	Q4_0    Type = 2
	Q4_1    Type = 3
	Q5_0    Type = 6
	Q5_1    Type = 7
	Q8_0    Type = 8
	Q8_1    Type = 9
	Q2_K    Type = 10
	Q3_K    Type = 11
	Q4_K    Type = 12
	Q5_K    Type = 13
	Q6_K    Type = 14
	Q8_K    Type = 15
	IQ2_XXS Type = 16
	IQ2_XS  Type = 17
	IQ3_XXS Type = 18
	IQ1_S   Type = 19
	IQ4_NL  Type = 20
	IQ3_S   Type = 21
	IQ2_S   Type = 22
	IQ4_XS  Type = 23
	I8      Type = 24
	I16     Type = 25
	I32     Type = 26
	I64     Type = 27
	F64     Type = 28
	IQ1_M   Type = 29
	BF16    Type = 30
	TQ1_0   Type = 34
	TQ2_0   Type = 35
)

// QK_K is the super-block size of the K-quants.
const QK_K = 256

// traits describes one type's storage: a block of blockSize elements takes typeSize bytes.
type traits struct {
	name      string
	blockSize int
	typeSize  int
	quantized bool
}

// typeTable is ggml's type_traits (ggml.c) for every type that still exists, with the names llama.cpp
// prints in its logs and that gguf-py uses (upper case).
var typeTable = map[Type]traits{
	F32:     {"F32", 1, 4, false},
	F16:     {"F16", 1, 2, false},
	Q4_0:    {"Q4_0", 32, 18, true},
	Q4_1:    {"Q4_1", 32, 20, true},
	Q5_0:    {"Q5_0", 32, 22, true},
	Q5_1:    {"Q5_1", 32, 24, true},
	Q8_0:    {"Q8_0", 32, 34, true},
	Q8_1:    {"Q8_1", 32, 36, true},
	Q2_K:    {"Q2_K", QK_K, 84, true},
	Q3_K:    {"Q3_K", QK_K, 110, true},
	Q4_K:    {"Q4_K", QK_K, 144, true},
	Q5_K:    {"Q5_K", QK_K, 176, true},
	Q6_K:    {"Q6_K", QK_K, 210, true},
	Q8_K:    {"Q8_K", QK_K, 292, true},
	IQ2_XXS: {"IQ2_XXS", QK_K, 66, true},
	IQ2_XS:  {"IQ2_XS", QK_K, 74, true},
	IQ3_XXS: {"IQ3_XXS", QK_K, 98, true},
	IQ1_S:   {"IQ1_S", QK_K, 50, true},
	IQ4_NL:  {"IQ4_NL", 32, 18, true},
	IQ3_S:   {"IQ3_S", QK_K, 110, true},
	IQ2_S:   {"IQ2_S", QK_K, 82, true},
	IQ4_XS:  {"IQ4_XS", QK_K, 136, true},
	I8:      {"I8", 1, 1, false},
	I16:     {"I16", 1, 2, false},
	I32:     {"I32", 1, 4, false},
	I64:     {"I64", 1, 8, false},
	F64:     {"F64", 1, 8, false},
	IQ1_M:   {"IQ1_M", QK_K, 56, true},
	BF16:    {"BF16", 1, 2, false},
	TQ1_0:   {"TQ1_0", QK_K, 54, true},
	TQ2_0:   {"TQ2_0", QK_K, 66, true},
}

// Known reports whether t is a type that ggml still defines.
func (t Type) Known() bool { _, ok := typeTable[t]; return ok }

// String returns the type name as llama.cpp prints it ("Q4_0", "F16", "Q6_K"), or "type(N)" for an unknown id.
func (t Type) String() string {
	if tr, ok := typeTable[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types). It is 0 for unknown types.
func (t Type) BlockSize() int { return typeTable[t].blockSize }

// BlockBytes is the number of bytes one block occupies. It is 0 for unknown types.
func (t Type) BlockBytes() int { return typeTable[t].typeSize }

// Quantized reports whether t stores blocks of quantized values rather than plain numbers.
func (t Type) Quantized() bool { return typeTable[t].quantized }

// BitsPerWeight is the storage cost of one element in bits.
func (t Type) BitsPerWeight() float64 {
	tr := typeTable[t]
	if tr.blockSize == 0 {
		return 0
	}
	return float64(tr.typeSize*8) / float64(tr.blockSize)
}

// RowBytes is the byte size of a row of n elements. n must be a multiple of the block size.
func (t Type) RowBytes(n int64) (int64, error) {
	tr, ok := typeTable[t]
	if !ok {
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	}
	if n < 0 || n%int64(tr.blockSize) != 0 {
		return 0, fmt.Errorf("%s: row of %d elements is not a multiple of the block size %d", tr.name, n, tr.blockSize)
	}
	return n / int64(tr.blockSize) * int64(tr.typeSize), nil
}

// ParseType reads a type name case-insensitively ("q4_0", "Q6_K", "bf16").
func ParseType(name string) (Type, error) {
	for t, tr := range typeTable {
		if strings.EqualFold(tr.name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}
