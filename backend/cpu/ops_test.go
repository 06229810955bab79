package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestActivationsOverWorkers: SwiGLU and GELU split over the workers in pieces of activationChunk give
// every value exactly its own formula's result (SwiGLU: the kernel set's SiLUMul over the whole row),
// for rows shorter and longer than a piece and not a multiple of it, and several rows.
func TestActivationsOverWorkers(t *testing.T) {
	b := testBackend(t, 2)
	s := b.NewStream().(*stream)
	rng := rand.New(rand.NewPCG(3, 9))
	for _, c := range []struct{ rows, width int }{{1, 7}, {1, activationChunk}, {3, 2*activationChunk + 5}, {5, 13696}} {
		x := s.Acts(0, c.rows, 2*c.width)
		for _, row := range rows(x) {
			for j := range row {
				row[j] = float32(rng.NormFloat64() * 3)
			}
		}
		gated, gelu := s.Acts(1, c.rows, c.width), s.Acts(2, c.rows, c.width)
		s.SwiGLU(gated, x)
		s.GELU(gelu, x)
		for i, row := range rows(x) {
			whole := make([]float32, c.width)
			b.k.SiLUMul(whole, row[:c.width], row[c.width:])
			for j := range c.width {
				if want, got := whole[j], rows(gated)[i][j]; math.Float32bits(want) != math.Float32bits(got) {
					t.Fatalf("%+v: SwiGLU row %d value %d: %v, want %v", c, i, j, got, want)
				}
				if want, got := geluTanh(row[j]), rows(gelu)[i][j]; math.Float32bits(want) != math.Float32bits(got) {
					t.Fatalf("%+v: GELU row %d value %d: %v, want %v", c, i, j, got, want)
				}
			}
		}
	}
}
