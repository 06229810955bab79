package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// TestResidentLayouts: a product with the weights made resident (packed in panels or repacked, as this
// CPU's kernel set lays them out) against the same product over the rows as stored in the mapping, for
// token counts around the kernels' steps of 4 and 16 and rows not a multiple of a panel block. Q4_K
// panels give DotKQ8_K's bits, so there the two must agree exactly; the other layouts sum in another
// order, within 1e-5 of Σ|w·x|.
func TestResidentLayouts(t *testing.T) {
	tokenCounts := []int{1, 3, 4, 6, 17, 37}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		typ        tensor.Type
		rows, cols int
	}{{tensor.Q4_0, 80, 512}, {tensor.Q4_K, 40, 1024}, {tensor.Q8_0, 32, 256}, {tensor.Q8_0, 24, 256}, {tensor.Q5_0, 16, 384}} {
		data := randomRows(t, rng, c.typ, c.rows, c.cols, func(r int) float64 { return 0.02 + 0.01*float64(r%7) })
		bias := make([]float32, c.rows)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		x := make([][]float32, 37)
		for t := range x {
			x[t] = make([]float32, c.cols)
			for j := range x[t] {
				x[t][j] = float32(rng.NormFloat64())
			}
		}
		deq := make([]float32, c.rows*c.cols)
		_ = tensor.Dequantize(c.typ, data, deq)
		var results [2][][]float32
		var layout string
		for i, resident := range []bool{false, true} {
			b, m := testMatrix(t, c.typ, c.rows, c.cols, data, resident)
			if w := m.(*matrix); resident {
				switch {
				case w.panels:
					layout = "panels"
				case w.kpanels:
					layout = "Q4_K panels"
				case w.repacked:
					layout = "repacked"
				default:
					layout = "as stored"
				}
				if b.k.CanKPanel(c.typ, c.rows, c.cols) != w.kpanels || b.k.CanPanel(c.typ, c.rows, c.cols) != w.panels {
					t.Fatalf("%s: resident layout %q, not the one the %s kernels take", c.typ, layout, b.k.Name())
				}
			}
			bv, _ := b.Vector(bias)
			s := b.NewStream()
			for _, n := range tokenCounts {
				xn := s.Acts(0, n, c.cols)
				for t, row := range rows(xn) {
					copy(row, x[t])
				}
				y := s.Acts(1, n, c.rows)
				s.MatMul(y, m, xn, bv, nil)
				for _, row := range rows(y) {
					results[i] = append(results[i], append([]float32(nil), row...))
				}
			}
		}
		t.Logf("%s: resident layout %q", c.typ, layout)
		var tokens []int // the token of each output row
		for _, n := range tokenCounts {
			for t := range n {
				tokens = append(tokens, t)
			}
		}
		for k := range results[0] {
			for r := range c.rows {
				mapped, res := results[0][k][r], results[1][k][r]
				if c.typ == tensor.Q4_K && layout == "Q4_K panels" {
					if math.Float32bits(mapped) != math.Float32bits(res) {
						t.Fatalf("%s output row %d, %d: panels %v, rows as stored %v", c.typ, k, r, res, mapped)
					}
					continue
				}
				var mag float64
				for j, v := range x[tokens[k]] {
					mag += math.Abs(float64(deq[r*c.cols+j]) * float64(v))
				}
				if d := math.Abs(float64(mapped - res)); d > 1e-5*mag {
					t.Fatalf("%s (%s) output row %d, %d: resident %v, rows as stored %v", c.typ, layout, k, r, res, mapped)
				}
			}
		}
	}
}
