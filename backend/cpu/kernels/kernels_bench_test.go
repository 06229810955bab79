package kernels

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/glmtool/glmtool/tensor"
)

// BenchmarkMatVec reports each weight kernel's speed as a matrix-vector product over rows of 4096 values:
// "cache" keeps the weights in L2 (64 rows), "stream" reads 256 MB of them from memory as decoding does.
// GB/s is weight bytes read; GFLOP/s counts 2 operations per weight and token. "x4" dots four tokens per
// pass over the weights (prefill); "tile" is the float 4-row × 4-token register tile. "Q4_0r" and "Q8_0r" are rows repacked at load (repack.go).
func BenchmarkMatVec(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const cols = 4096
	x := make([][]float32, 4)
	for i := range x {
		x[i] = make([]float32, cols)
		for j := range x[i] {
			x[i][j] = float32(rng.NormFloat64())
		}
	}
	for _, name := range []string{"Q4_0", "Q4_0r", "Q8_0", "Q8_0r", "Q4_1", "Q4_1r", "Q5_0", "Q5_0r", "Q5_1", "Q5_1r", "Q4_K", "Q5_K", "Q6_K", "F16", "BF16", "F32"} {
		typ, err := tensor.ParseType(strings.TrimSuffix(name, "r"))
		if err != nil {
			b.Fatal(err)
		}
		repacked := strings.HasSuffix(name, "r")
		tr := s.Traits(typ, cols, repacked)
		if !tr.Kernel {
			b.Logf("%s: no kernel in the %s set", name, s.Name())
			continue
		}
		float := tr.VecDotType == tensor.F32
		rb64, _ := typ.RowBytes(cols)
		rb := int(rb64)
		acts := s.Q8Acts()
		var q8k []byte
		kquant := typ == tensor.Q4_K || typ == tensor.Q5_K || typ == tensor.Q6_K
		if kquant {
			q8k = make([]byte, cols/tensor.QK_K*292)
			_ = tensor.Quantize(tensor.Q8_K, x[0], q8k)
		} else if !float {
			if err := acts.Set(x, cols, typ, repacked); err != nil {
				b.Fatal(err)
			}
		}
		for _, mem := range []struct {
			name string
			rows int
		}{{"cache", 64}, {"stream", 256 << 20 / rb}} {
			w := make([]byte, mem.rows*rb)
			for r := range mem.rows {
				_ = tensor.Quantize(typ, x[r%4], w[r*rb:(r+1)*rb])
				if repacked {
					row := append([]byte(nil), w[r*rb:(r+1)*rb]...)
					RepackRow(typ, row, w[r*rb:(r+1)*rb])
				}
			}
			if rows := s.FloatTileRows(); float && rows > 0 {
				var tile [16]float32
				b.Run(fmt.Sprintf("%s/%s/tile", name, mem.name), func(b *testing.B) {
					b.SetBytes(int64(mem.rows * rb))
					for b.Loop() {
						for r := 0; r+rows <= mem.rows; r += rows {
							s.DotFloatTile(typ, w[r*rb:(r+rows)*rb], rb, x, &tile)
						}
					}
					flops := 2 * float64(cols) * float64(mem.rows/rows*rows) * 4 * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
			for _, tokens := range []int{1, 4} {
				if kquant && tokens > 1 && s.traits[typ].dot4 == nil { // no four-token kernel in this set
					continue
				}
				out := make([]float32, tokens)
				b.Run(fmt.Sprintf("%s/%s/x%d", name, mem.name, tokens), func(b *testing.B) {
					b.SetBytes(int64(mem.rows * rb))
					for b.Loop() {
						for r := range mem.rows {
							row := w[r*rb : (r+1)*rb]
							switch {
							case float:
								s.DotFloatRows(typ, row, x[:tokens], out)
							case q8k != nil && tokens == 4:
								s.DotKQ8_K4(typ, row, [4][]byte{q8k, q8k, q8k, q8k}, out)
							case q8k != nil:
								out[0] = s.DotKQ8_K(typ, row, q8k)
							case repacked:
								acts.DotRepacked(row, 0, out)
							default:
								acts.Dot(row, 0, out)
							}
						}
					}
					flops := 2 * float64(cols) * float64(mem.rows) * float64(tokens) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkPanels is BenchmarkMatVec for Q4_0 and Q8_0 rows in panels (the AMX and AVX2 sets): 1, 4 and
// 16 tokens over 4096 rows of 4096 values from L2-sized blocks ("cache") and from 256 MB ("stream").
func BenchmarkPanels(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	const cols = 4096
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([][]float32, 16)
	for i := range x {
		x[i] = make([]float32, cols)
		for j := range x[i] {
			x[i][j] = float32(rng.NormFloat64())
		}
	}
	staging := make([]byte, StagingBytes())
	for _, typ := range []tensor.Type{tensor.Q4_0, tensor.Q8_0} {
		if !s.CanPanel(typ, PanelRows, cols) {
			b.Logf("%s: the %s set has no panel kernels for these rows", typ, s.Name())
			continue
		}
		acts := s.Q8Acts()
		if err := acts.ResetPanels(typ, len(x), cols); err != nil {
			b.Fatal(err)
		}
		for i := range x {
			acts.QuantizeRow(i, x[i])
		}
		rb64, _ := typ.RowBytes(cols)
		rb := int(rb64)
		for _, mem := range []struct {
			name string
			rows int
		}{{"cache", 64}, {"stream", (256 << 20) / rb / 64 * 64}} { // whole calls of four panels
			w := make([]byte, mem.rows*rb)
			for r := range mem.rows {
				_ = tensor.Quantize(typ, x[r%16], w[r*rb:(r+1)*rb])
			}
			packed := make([]byte, len(w))
			for p := 0; p < mem.rows/PanelRows; p++ {
				PackPanelFor(typ)(w[p*PanelRows*rb:(p+1)*PanelRows*rb], packed[p*PanelRows*rb:(p+1)*PanelRows*rb])
			}
			const per = 4
			out := make([]float32, 16*PanelRows*per)
			for _, tokens := range []int{1, 4, 16} {
				b.Run(fmt.Sprintf("%s/%s/x%d", typ, mem.name, tokens), func(b *testing.B) {
					b.SetBytes(int64(len(packed)))
					for b.Loop() {
						for p := 0; p < mem.rows/PanelRows; p += per {
							acts.DotPanels(packed[p*PanelRows*rb:(p+per)*PanelRows*rb], per, 0, tokens, out, PanelRows*per, staging)
						}
					}
					flops := 2 * float64(cols) * float64(mem.rows) * float64(tokens) * float64(b.N)
					b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkKPanels is BenchmarkPanels for Q4_K rows in panels of 8 (the AVX2 set).
func BenchmarkKPanels(b *testing.B) {
	s, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	const cols = 4096
	if !s.CanKPanel(tensor.Q4_K, KPanelRows, cols) {
		b.Skipf("the %s set has no Q4_K panel kernels (AVX2 has them)", s.Name())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const tokens = 16
	ab := cols / tensor.QK_K * 292
	acts := make([]byte, tokens*ab)
	x := make([]float32, cols)
	for i := range tokens {
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		_ = tensor.Quantize(tensor.Q8_K, x, acts[i*ab:(i+1)*ab])
	}
	rb := cols / tensor.QK_K * 144
	for _, mem := range []struct {
		name string
		rows int
	}{{"cache", 64}, {"stream", (256 << 20) / rb / 64 * 64}} {
		w := make([]byte, mem.rows*rb)
		for r := range mem.rows {
			for j := range x {
				x[j] = float32(rng.NormFloat64())
			}
			_ = tensor.Quantize(tensor.Q4_K, x, w[r*rb:(r+1)*rb])
		}
		packed := make([]byte, len(w))
		for p := 0; p < mem.rows/KPanelRows; p++ {
			PackKPanel(w[p*KPanelRows*rb:(p+1)*KPanelRows*rb], packed[p*KPanelRows*rb:(p+1)*KPanelRows*rb])
		}
		const per = 8
		out := make([]float32, tokens*KPanelRows*per)
		for _, n := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/x%d", mem.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(packed)))
				for b.Loop() {
					for p := 0; p < mem.rows/KPanelRows; p += per {
						s.DotKPanels(packed[p*KPanelRows*rb:(p+per)*KPanelRows*rb], per, acts, ab, n, out, KPanelRows*per)
					}
				}
				flops := 2 * float64(cols) * float64(mem.rows) * float64(n) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
