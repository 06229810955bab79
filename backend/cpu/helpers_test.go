package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/tensor"
)

// testBackend starts a backend on the default kernel set, closed when the test ends.
func testBackend(tb testing.TB, threads int) *Backend {
	tb.Helper()
	b, err := New(threads)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// testMatrix starts a two-worker backend holding one matrix of rows × cols values of type typ (data: the
// rows as stored), made resident (packed as the kernel set lays it out) or read from data as mapped.
func testMatrix(tb testing.TB, typ tensor.Type, rows, cols int, data []byte, resident bool) (*Backend, backend.Matrix) {
	tb.Helper()
	b := testBackend(tb, 2)
	m, err := b.Matrix(backend.MatrixSource{Name: "w", Type: typ, Rows: rows, Cols: cols, Data: data,
		Read: func(off int64, dst []byte) error { copy(dst, data[off:]); return nil }})
	if err != nil {
		tb.Fatal(err)
	}
	if err := b.Commit(resident); err != nil {
		tb.Fatal(err)
	}
	return b, m
}

// randomRows is rows × cols normal values (row r's deviation scale(r)) stored as typ.
func randomRows(tb testing.TB, rng *rand.Rand, typ tensor.Type, rows, cols int, scale func(r int) float64) []byte {
	tb.Helper()
	rb64, _ := typ.RowBytes(int64(cols))
	rb := int(rb64)
	data := make([]byte, rows*rb)
	src := make([]float32, cols)
	for r := range rows {
		for j := range src {
			src[j] = float32(rng.NormFloat64() * scale(r))
		}
		if err := tensor.Quantize(typ, src, data[r*rb:(r+1)*rb]); err != nil {
			tb.Fatal(err)
		}
	}
	return data
}
