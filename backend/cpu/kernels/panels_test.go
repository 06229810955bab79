package kernels

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// checkPanelDots: the AMX kernels over Q4_0 rows packed in panels, for 1 to 16 tokens at any offset,
// against the float64 dot of the dequantized rows with the Q8_0 activations (checkRepackedDots'
// tolerance: the bias comes off in float) and against their Go twin; and every token gets the same bits
// whether it is evaluated alone, in four or in sixteen (a batch of sequences can share the kernels).
func checkPanelDots(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(31, 32))
	staging := make([]byte, StagingBytes())
	for _, c := range []struct{ cols, panels, tokens int }{{128, 1, 1}, {512, 3, 7}, {4096, 2, 21}, {13696 - 13696%128, 1, 16}} {
		rows := PanelRows * c.panels
		rb := c.cols / 32 * 18
		w, wf := panelTestRows(rng, tensor.Q4_0, rows, c.cols)
		packed, slow := make([]byte, len(w)), make([]byte, len(w))
		for p := range c.panels {
			PackPanel(w[p*PanelRows*rb:(p+1)*PanelRows*rb], packed[p*PanelRows*rb:(p+1)*PanelRows*rb])
			packPanelGo(w[p*PanelRows*rb:(p+1)*PanelRows*rb], slow[p*PanelRows*rb:(p+1)*PanelRows*rb])
		}
		if !bytes.Equal(packed, slow) {
			t.Fatalf("cols %d: PackPanel differs from the layout written value by value", c.cols)
		}
		acts := s.Q8Acts()
		if err := acts.ResetPanels(tensor.Q4_0, c.tokens, c.cols); err != nil {
			t.Fatal(err)
		}
		for i := range c.tokens {
			x := make([]float32, c.cols)
			for j := range x {
				x[j] = float32(rng.NormFloat64())
			}
			if i == 0 {
				x[0] = 40 // a block whose activations round to ±127
			}
			acts.QuantizeRow(i, x)
		}
		nb := c.cols / 32
		alone := make([][]float32, c.tokens) // each token evaluated alone
		for i := range c.tokens {
			alone[i] = make([]float32, rows)
			acts.DotPanels(packed, c.panels, i, 1, alone[i], rows, staging)
		}
		for t0 := 0; t0 < c.tokens; t0 += 1 + rng.IntN(3) {
			for _, n := range []int{1, 2, 4, 5, 16} {
				n = min(n, c.tokens-t0)
				out := make([]float32, n*rows)
				acts.DotPanels(packed, c.panels, t0, n, out, rows, staging)
				twin := make([]float32, n*rows)
				m := map[bool]int{true: 1, false: 16}[n == 1]
				if n > 1 && n <= 4 {
					m = 4
				}
				T := acts.tabTokens
				gemmPanelsGo(m, packed, c.panels, nb, acts.ggml[t0*nb*34:], nb*34, acts.tab[t0:], 2*T, T, twin, rows, n)
				for i := range n {
					for r := range rows {
						got := out[i*rows+r]
						want, tol := dequantizedDot(wf[r], acts.ggml[(t0+i)*nb*34:(t0+i+1)*nb*34])
						if math.Abs(float64(got)-want) > tol {
							t.Fatalf("cols %d, token %d of %d (from %d), row %d: got %g, want %g ± %g", c.cols, t0+i, n, t0, r, got, want, tol)
						}
						if math.Abs(float64(got-twin[i*rows+r])) > tol {
							t.Fatalf("cols %d, token %d, row %d: kernel %g, Go twin %g ± %g", c.cols, t0+i, r, got, twin[i*rows+r], tol)
						}
						if math.Float32bits(got) != math.Float32bits(alone[t0+i][r]) {
							t.Fatalf("cols %d, token %d, row %d: %g among %d tokens, %g alone", c.cols, t0+i, r, got, n, alone[t0+i][r])
						}
					}
				}
			}
		}
	}
}

// checkPanelDotsQ8_0: the AVX2 kernels over Q8_0 rows in panels, for 1 to 16 tokens at any offset,
// against the float64 dot of the dequantized rows with the Q8_0 activations and against their Go twin;
// every token gets the same bits alone as among four or sixteen.
func checkPanelDotsQ8_0(t *testing.T, s *Set) {
	rng := rand.New(rand.NewPCG(33, 34))
	staging := make([]byte, StagingBytes())
	for _, c := range []struct{ cols, panels, tokens int }{{128, 1, 1}, {512, 3, 7}, {4096, 2, 21}} {
		rows := PanelRows * c.panels
		rb := c.cols / 32 * 34
		w, wf := panelTestRows(rng, tensor.Q8_0, rows, c.cols)
		packed := make([]byte, len(w))
		for p := range c.panels {
			PackPanelQ8_0(w[p*PanelRows*rb:(p+1)*PanelRows*rb], packed[p*PanelRows*rb:(p+1)*PanelRows*rb])
		}
		acts := s.Q8Acts()
		if err := acts.ResetPanels(tensor.Q8_0, c.tokens, c.cols); err != nil {
			t.Fatal(err)
		}
		for i := range c.tokens {
			x := make([]float32, c.cols)
			for j := range x {
				x[j] = float32(rng.NormFloat64())
			}
			x[i%c.cols] = -40 // a block whose activations round to ±127
			acts.QuantizeRow(i, x)
		}
		nb := c.cols / 32
		T := acts.tabTokens
		alone := make([][]float32, c.tokens)
		for i := range c.tokens {
			alone[i] = make([]float32, rows)
			acts.DotPanels(packed, c.panels, i, 1, alone[i], rows, staging)
		}
		for t0 := 0; t0 < c.tokens; t0 += 1 + rng.IntN(3) {
			for _, n := range []int{1, 3, 4, 5, 16} {
				n = min(n, c.tokens-t0)
				out := make([]float32, n*rows)
				acts.DotPanels(packed, c.panels, t0, n, out, rows, staging)
				twin := make([]float32, n*rows)
				gemmPanelsQ8Go(packed, c.panels, nb, acts.ggml[t0*nb*34:], nb*34, acts.tab[t0:], 2*T, twin, rows, n)
				for i := range n {
					for r := range rows {
						got := out[i*rows+r]
						want, tol := dequantizedDot(wf[r], acts.ggml[(t0+i)*nb*34:(t0+i+1)*nb*34])
						if math.Abs(float64(got)-want) > tol {
							t.Fatalf("cols %d, token %d of %d (from %d), row %d: got %g, want %g ± %g", c.cols, t0+i, n, t0, r, got, want, tol)
						}
						if math.Abs(float64(got-twin[i*rows+r])) > tol {
							t.Fatalf("cols %d, token %d, row %d: kernel %g, Go twin %g ± %g", c.cols, t0+i, r, got, twin[i*rows+r], tol)
						}
						if math.Float32bits(got) != math.Float32bits(alone[t0+i][r]) {
							t.Fatalf("cols %d, token %d, row %d: %g among %d tokens, %g alone", c.cols, t0+i, r, got, n, alone[t0+i][r])
						}
					}
				}
			}
		}
	}
}

// panelTestRows quantizes rows × cols values (σ 0.05 about a small per-column offset) to typ, and returns
// the rows one after another and each dequantized.
func panelTestRows(rng *rand.Rand, typ tensor.Type, rows, cols int) ([]byte, [][]float32) {
	rb64, _ := typ.RowBytes(int64(cols))
	rb := int(rb64)
	w := make([]byte, rows*rb)
	wf := make([][]float32, rows)
	for r := range rows {
		src := make([]float32, cols)
		for j := range src {
			src[j] = float32(rng.NormFloat64()*0.05 + 0.01*float64(j%7))
		}
		_ = tensor.Quantize(typ, src, w[r*rb:(r+1)*rb])
		wf[r] = make([]float32, cols)
		_ = tensor.Dequantize(typ, w[r*rb:(r+1)*rb], wf[r])
	}
	return w, wf
}
