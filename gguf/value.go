package gguf

import (
	"fmt"
	"math"
	"slices"
)

// ValueType is a GGUF metadata value type (gguf.h enum gguf_type), stored as an int32 on disk.
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL",
	"STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"}

// valueTypeSizes is the fixed on-disk size of each scalar type; 0 for STRING and ARRAY.
var valueTypeSizes = [...]int{1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8}

// String returns the name used by gguf-py and the manifest ("UINT32", "STRING", ...).
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

func (t ValueType) known() bool { return int(t) < len(valueTypeNames) }

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is a typed GGUF metadata value. Scalars hold uint8, int8, uint16, int16, uint32, int32, float32,
// bool, string, uint64, int64 or float64; arrays hold the matching Go slice ([]string for strings).
// Build values with the constructors (Uint32, String, Array, ...) so that type and payload agree.
type Value struct {
	typ  ValueType
	elem ValueType // element type, for arrays
	v    any
}

// Type is the value's GGUF type; arrays report TypeArray.
func (v Value) Type() ValueType { return v.typ }

// ElemType is the element type of an array value.
func (v Value) ElemType() ValueType { return v.elem }

// Any returns the Go value (a scalar or a slice).
func (v Value) Any() any {
	if a, ok := v.v.(array); ok {
		return a.slice()
	}
	return v.v
}

// TypeName describes the type for messages: "uint32" or "array[string]".
func (v Value) TypeName() string {
	if v.typ == TypeArray {
		return "array[" + lower(v.elem.String()) + "]"
	}
	return lower(v.typ.String())
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Len is the number of elements of an array value, and 0 for a scalar.
func (v Value) Len() int {
	if a, ok := v.v.(array); ok {
		return a.len()
	}
	return 0
}

// Constructors for scalar values.
func Uint8(x uint8) Value     { return Value{typ: TypeUint8, v: x} }
func Int8(x int8) Value       { return Value{typ: TypeInt8, v: x} }
func Uint16(x uint16) Value   { return Value{typ: TypeUint16, v: x} }
func Int16(x int16) Value     { return Value{typ: TypeInt16, v: x} }
func Uint32(x uint32) Value   { return Value{typ: TypeUint32, v: x} }
func Int32(x int32) Value     { return Value{typ: TypeInt32, v: x} }
func Float32(x float32) Value { return Value{typ: TypeFloat32, v: x} }
func Bool(x bool) Value       { return Value{typ: TypeBool, v: x} }
func String(x string) Value   { return Value{typ: TypeString, v: x} }
func Uint64(x uint64) Value   { return Value{typ: TypeUint64, v: x} }
func Int64(x int64) Value     { return Value{typ: TypeInt64, v: x} }
func Float64(x float64) Value { return Value{typ: TypeFloat64, v: x} }

// ArrayElem is any Go type that can be a GGUF array element.
type ArrayElem interface {
	uint8 | int8 | uint16 | int16 | uint32 | int32 | float32 | bool | string | uint64 | int64 | float64
}

// Array builds an array value; the element type follows from the slice type.
func Array[T ArrayElem](xs []T) Value {
	return Value{typ: TypeArray, elem: elemType[T](), v: typedArray[T](xs)}
}

// elemType is the GGUF type of a Go element type: the one table of the correspondence.
func elemType[T ArrayElem]() ValueType {
	switch any(*new(T)).(type) {
	case uint8:
		return TypeUint8
	case int8:
		return TypeInt8
	case uint16:
		return TypeUint16
	case int16:
		return TypeInt16
	case uint32:
		return TypeUint32
	case int32:
		return TypeInt32
	case float32:
		return TypeFloat32
	case bool:
		return TypeBool
	case string:
		return TypeString
	case uint64:
		return TypeUint64
	case int64:
		return TypeInt64
	}
	return TypeFloat64
}

// array is what every typedArray does, whatever its element type.
type array interface {
	len() int
	at(i int) any
	slice() any // the []T itself
	equal(o array) bool
}

// typedArray holds an array value's elements as the Go slice they decode to.
type typedArray[T ArrayElem] []T

func (a typedArray[T]) len() int     { return len(a) }
func (a typedArray[T]) at(i int) any { return a[i] }
func (a typedArray[T]) slice() any   { return []T(a) }

// equal compares element by element; floats by their bits, so that NaN equals itself and a round trip
// of any file compares equal.
func (a typedArray[T]) equal(o array) bool {
	b, ok := o.(typedArray[T])
	if !ok || len(a) != len(b) {
		return false
	}
	switch x := any([]T(a)).(type) {
	case []float32:
		return slices.EqualFunc(x, any([]T(b)).([]float32), func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
	case []float64:
		return slices.EqualFunc(x, any([]T(b)).([]float64), func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) })
	}
	return slices.Equal(a, b)
}

func sameBits(x, y any) bool {
	switch x := x.(type) {
	case float32:
		return math.Float32bits(x) == math.Float32bits(y.(float32))
	case float64:
		return math.Float64bits(x) == math.Float64bits(y.(float64))
	}
	return x == y
}

// Equal reports whether two values have the same type and the same contents (float NaNs compare by bits).
func (v Value) Equal(o Value) bool {
	if v.typ != o.typ || v.elem != o.elem || v.Len() != o.Len() {
		return false
	}
	if a, ok := v.v.(array); ok {
		return a.equal(o.v.(array))
	}
	return sameBits(v.v, o.v)
}

// String formats a value for people; arrays are summarised to about 64 characters (see Summary).
func (v Value) String() string { return v.Summary(64) }

// Summary formats a value for people. An array shows as many leading elements as fit in about width
// characters, then the total count, so that a 150k-token vocabulary prints as one short line.
func (v Value) Summary(width int) string {
	if v.typ != TypeArray {
		if s, ok := v.v.(string); ok {
			return fmt.Sprintf("%q", s)
		}
		return fmt.Sprint(v.v)
	}
	n := v.Len()
	var items []string
	used := 0
	for i := range n {
		var item string
		if s, ok := elemAt(v, i).(string); ok {
			item = fmt.Sprintf("%q", s)
		} else {
			item = fmt.Sprint(elemAt(v, i))
		}
		if used+len(item) > width && i > 0 {
			return fmt.Sprintf("[%s, ... (%d total)]", joinComma(items), n)
		}
		items = append(items, item)
		used += len(item) + 2
	}
	return "[" + joinComma(items) + "]"
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// elemAt returns element i of an array value as a Go scalar.
func elemAt(v Value, i int) any { return v.v.(array).at(i) }
