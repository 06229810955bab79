package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// checkKPanelDots: the kernels over Q4_K rows packed in panels give every row DotKQ8_K's bits (and so
// the Go code's) for any token count, and PackKPanel's layout is undone exactly by kpanelRow (the Go
// twins' path).
func checkKPanelDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct{ cols, panels, tokens int }{{256, 1, 1}, {1024, 3, 7}, {4096, 2, 9}} {
		rows := KPanelRows * c.panels
		rb := c.cols / tensor.QK_K * 144
		w := make([]byte, rows*rb)
		for r := range rows {
			src := make([]float32, c.cols)
			for j := range src {
				// rows of different spreads, so that the six-bit scales and mins take many values
				src[j] = float32(rng.NormFloat64()*(0.02+0.05*float64(r%5)) + 0.03*float64(j%11-5))
			}
			_ = tensor.Quantize(tensor.Q4_K, src, w[r*rb:(r+1)*rb])
		}
		packed := make([]byte, len(w))
		for p := range c.panels {
			PackKPanel(w[p*KPanelRows*rb:(p+1)*KPanelRows*rb], packed[p*KPanelRows*rb:(p+1)*KPanelRows*rb])
		}
		back := make([]byte, rb)
		for r := range rows {
			p := r / KPanelRows
			kpanelRow(packed[p*KPanelRows*rb:], c.cols/tensor.QK_K, r%KPanelRows, back)
			if !bytes.Equal(back, w[r*rb:(r+1)*rb]) {
				t.Fatalf("cols %d, row %d: the panel does not give the row back", c.cols, r)
			}
		}
		ab64, _ := tensor.Q8_K.RowBytes(int64(c.cols))
		ab := int(ab64)
		acts := make([]byte, c.tokens*ab)
		for i := range c.tokens {
			x := make([]float32, c.cols)
			for j := range x {
				x[j] = float32(rng.NormFloat64())
			}
			x[i%c.cols] = -9 // a value that quantizes to −128
			_ = tensor.Quantize(tensor.Q8_K, x, acts[i*ab:(i+1)*ab])
		}
		for t0 := 0; t0 < c.tokens; t0++ {
			for _, n := range []int{1, 3, 4, 5, 9} {
				n = min(n, c.tokens-t0)
				out := make([]float32, n*rows+3)
				s.DotKPanels(packed, c.panels, acts[t0*ab:], ab, n, out[3:], rows)
				twin := make([]float32, n*rows)
				gemmKPanelsGo(&packed[0], c.panels, c.cols/tensor.QK_K, &acts[t0*ab], ab, &twin[0], 4*rows, n)
				for i := range n {
					a := acts[(t0+i)*ab : (t0+i+1)*ab]
					for r := range rows {
						got, want := out[3+i*rows+r], s.DotKQ8_K(tensor.Q4_K, w[r*rb:(r+1)*rb], a)
						if math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("cols %d, token %d of %d (from %d), row %d: panels %g, DotKQ8_K %g", c.cols, t0+i, n, t0, r, got, want)
						}
						if math.Float32bits(twin[i*rows+r]) != math.Float32bits(want) {
							t.Fatalf("cols %d, token %d, row %d: Go twin %g, DotKQ8_K %g", c.cols, t0+i, r, twin[i*rows+r], want)
						}
					}
				}
			}
		}
	}
}
