package tensor

import (
	"fmt"
	"math"
	"strings"
)

// MaxDims is the largest number of dimensions a ggml tensor has.
const MaxDims = 4

// Shape holds tensor dimensions in ggml "ne" order: Shape[0] is the contiguous, fastest-varying dimension.
// This is the reverse of the numpy/PyTorch shape. A PyTorch weight of shape (out, in) is Shape{in, out}:
// Shape[0] is the row length and the product of the rest is the number of rows.
type Shape []int64

// FromRowMajor builds a Shape from dimensions listed in numpy/PyTorch order (slowest first).
func FromRowMajor(dims ...int64) Shape {
	s := make(Shape, len(dims))
	for i, d := range dims {
		s[len(dims)-1-i] = d
	}
	return s
}

// RowMajor returns the dimensions in numpy/PyTorch order (slowest first).
func (s Shape) RowMajor() []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[len(s)-1-i] = d
	}
	return out
}

// Validate checks that s has 1 to 4 positive dimensions whose product fits in an int64.
func (s Shape) Validate() error {
	if len(s) < 1 || len(s) > MaxDims {
		return fmt.Errorf("%d dimensions, want 1 to %d", len(s), MaxDims)
	}
	n := int64(1)
	for i, d := range s {
		if d <= 0 {
			return fmt.Errorf("dimension %d is %d, want > 0", i, d)
		}
		if n > math.MaxInt64/d {
			return fmt.Errorf("element count of %v overflows int64", []int64(s))
		}
		n *= d
	}
	return nil
}

// Elements is the number of elements. Call Validate first for untrusted shapes.
func (s Shape) Elements() int64 {
	n := int64(1)
	for _, d := range s {
		n *= d
	}
	return n
}

// Rows is the number of rows: the product of every dimension but the first.
func (s Shape) Rows() int64 {
	n := int64(1)
	for _, d := range s[1:] {
		n *= d
	}
	return n
}

// Equal reports whether two shapes have the same dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// String formats the shape in ne order, as llama.cpp prints it: "[4096, 65024]".
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// Bytes is the storage size of a tensor of type t and shape s, checked for block alignment and overflow.
func (t Type) Bytes(s Shape) (int64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	row, err := t.RowBytes(s[0])
	if err != nil {
		return 0, err
	}
	rows := s.Rows()
	if row != 0 && rows > math.MaxInt64/row {
		return 0, fmt.Errorf("byte size of %s %v overflows int64", t, []int64(s))
	}
	return row * rows, nil
}
