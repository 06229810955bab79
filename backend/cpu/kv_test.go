package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/backend"
	"github.com/glmtool/glmtool/tensor"
)

// TestKVCacheTypes: every cache type gives back, for each slot and KV head, the stored row's values:
// exactly for F32, rounded to F16, and exactly ggml's dequantized blocks for Q8_0 and Q4_0 (so a wrong
// block offset cannot pass), with each head read on its own.
func TestKVCacheTypes(t *testing.T) {
	const layers, slots, heads, hd = 2, 5, 3, 64
	width := heads * hd
	b := testBackend(t, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]float32, layers*slots*2)
	for i := range rows {
		rows[i] = make([]float32, width)
		for j := range rows[i] {
			rows[i][j] = float32(rng.NormFloat64())
		}
	}
	for _, typ := range []backend.KVType{backend.KVF32, backend.KVF16, backend.KVQ8_0, backend.KVQ4_0} {
		kc, err := b.NewKV(layers, slots, width, typ)
		if err != nil {
			t.Fatal(err)
		}
		c := kc.(*kvCache)
		for l := range layers {
			for s := range slots {
				c.Store(l, s, rows[(l*slots+s)*2], rows[(l*slots+s)*2+1])
			}
		}
		dst := make([]float32, hd)
		for l := range layers {
			for s := range slots {
				for which, read := range []func(int, int, int, int, []float32) []float32{c.key, c.value} {
					src := rows[(l*slots+s)*2+which]
					want := make([]float32, width)
					switch typ {
					case backend.KVF32:
						copy(want, src)
					case backend.KVF16:
						for j, v := range src {
							want[j] = tensor.F16ToF32(tensor.F32ToF16(v))
						}
					default:
						qt := tensor.Q8_0
						if typ == backend.KVQ4_0 {
							qt = tensor.Q4_0
						}
						rb, _ := qt.RowBytes(int64(width))
						q := make([]byte, rb)
						_ = tensor.Quantize(qt, src, q)
						_ = tensor.Dequantize(qt, q, want)
					}
					for g := range heads {
						got := read(l, s, g, hd, dst)
						for j := range hd {
							if math.Float32bits(got[j]) != math.Float32bits(want[g*hd+j]) {
								t.Fatalf("%s: layer %d slot %d head %d value %d: %v, want %v", typ, l, s, g, j, got[j], want[g*hd+j])
							}
						}
					}
				}
			}
		}
	}
	if _, err := b.NewKV(1, 4, 48, backend.KVQ8_0); err == nil {
		t.Error("a q8_0 cache of rows of 48 values was allowed")
	}
}
