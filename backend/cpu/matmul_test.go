package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// TestMatMulPartsAsAlone: a product over a batch of parts (runs of decode steps and prompt chunks of
// several sequences) gives each part exactly (bit for bit) the rows its product alone gives, for every
// layout this CPU's kernel set takes (float rows, whose four-token kernels sum in another order; Q8_0
// activations as stored and in panels; K-quants, resident and not). Where a layout's four-token kernels
// give the one-token bits (the panels, the quantized rows' kernels of the AVX2 set) the batch is one pass;
// where not (the float register tiles, the VNNI pair kernels over rows as stored) MatMul must split it,
// and this is what fails. The float matrices have enough rows that each worker's share holds whole tiles.
func TestMatMulPartsAsAlone(t *testing.T) {
	parts := []int{1, 1, 7, 1, 13, 2, 1, 1, 1}
	total := 0
	for _, n := range parts {
		total += n
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		typ        tensor.Type
		rows, cols int
	}{{tensor.F32, 96, 4096}, {tensor.F16, 96, 4096}, {tensor.BF16, 96, 1024}, {tensor.Q4_0, 64, 1024}, {tensor.Q8_0, 32, 512}, {tensor.Q5_1, 16, 512},
		{tensor.Q5_0, 16, 512}, {tensor.Q4_K, 16, 1024}, {tensor.Q6_K, 8, 512}} {
		data := randomRows(t, rng, c.typ, c.rows, c.cols, func(int) float64 { return 0.05 })
		x := make([][]float32, total)
		for i := range x {
			x[i] = make([]float32, c.cols)
			for j := range x[i] {
				x[i][j] = float32(rng.NormFloat64())
			}
		}
		for _, resident := range []bool{false, true} {
			b, m := testMatrix(t, c.typ, c.rows, c.cols, data, resident)
			s := b.NewStream()
			product := func(rows [][]float32, parts []int) [][]float32 {
				xa := s.Acts(0, len(rows), c.cols)
				for i, r := range rows {
					copy(xa.(*acts).r[i], r)
				}
				y := s.Acts(1, len(rows), c.rows)
				s.MatMul(y, m, xa, nil, parts)
				var out [][]float32
				for _, r := range y.(*acts).r {
					out = append(out, append([]float32(nil), r...))
				}
				return out
			}
			batched := product(x, parts)
			off := 0
			for p, n := range parts {
				alone := product(x[off:off+n], nil)
				for i := range n {
					for r := range c.rows {
						if got, want := batched[off+i][r], alone[i][r]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s (resident %v): part %d row %d output %d: batched %v, alone %v", c.typ, resident, p, i, r, got, want)
						}
					}
				}
				off += n
			}
		}
	}
}
