package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/glmtool/glmtool/backend"
)

// TestAttentionMatchesReference: Stream.Attention over a cache holding earlier positions, for every
// cache type, against softmax(q·k/√hd)·v in float64 on the values the cache holds (F16/Q8_0-rounded),
// for groups of 1, 2, 4, 8 and 16 query heads per KV head (4 and 8 take the F16 kernels' path, 16
// groupJob's where the set has its kernel, in one chunk and in two) and head widths of 16 to 128.
func TestAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := testBackend(t, 2)
	for _, c := range []struct{ heads, kvHeads, hd, past, n int }{{8, 2, 32, 20, 3}, {4, 2, 128, 7, 1}, {4, 4, 16, 5, 2}, {16, 2, 32, 40, 4},
		// Sixteen query heads a KV head (groupJob on AVX-512): decode, a prompt, and one row over
		// 600 keys, cut into two chunks for the two workers and merged.
		{32, 2, 128, 300, 1}, {32, 2, 64, 5, 20}, {16, 1, 128, 600, 1}} {
		for _, typ := range []backend.KVType{backend.KVF32, backend.KVF16, backend.KVQ8_0} {
			if typ == backend.KVQ8_0 && c.hd%32 != 0 {
				continue // quantized caches need whole blocks per head (infer.NewSession checks)
			}
			kvDim := c.kvHeads * c.hd
			kc, err := b.NewKV(1, c.past+c.n, kvDim, typ)
			if err != nil {
				t.Fatal(err)
			}
			cache := kc.(*kvCache)
			row := func(w int) []float32 {
				r := make([]float32, w)
				for i := range r {
					r[i] = float32(rng.NormFloat64())
				}
				return r
			}
			for p := range c.past {
				cache.Store(0, p, row(kvDim), row(kvDim))
			}
			st := b.NewStream()
			q := st.Acts(0, c.n, c.heads*c.hd)
			k := st.Acts(1, c.n, kvDim)
			v := st.Acts(2, c.n, kvDim)
			for i := range c.n {
				copy(rows(q)[i], row(c.heads*c.hd))
				copy(rows(k)[i], row(kvDim))
				copy(rows(v)[i], row(kvDim))
			}
			out := st.Acts(3, c.n, c.heads*c.hd)
			vis := make([]int, c.n)
			for i := range vis {
				vis[i] = c.past + i + 1
			}
			st.Attention(out, q, k, v, 0, []backend.Seq{{Cache: kc, Rows: c.n, Slot: c.past, Visible: vis}}, c.heads, c.kvHeads, c.hd)
			kb, vb := make([]float32, c.hd), make([]float32, c.hd)
			for i := range c.n {
				for h := range c.heads {
					g := h / (c.heads / c.kvHeads)
					qh := rows(q)[i][h*c.hd : (h+1)*c.hd]
					sc := make([]float64, vis[i])
					mx := math.Inf(-1)
					for key := range vis[i] {
						kk := cache.key(0, key, g, c.hd, kb)
						var d float64
						for j := range c.hd {
							d += float64(qh[j]) * float64(kk[j])
						}
						sc[key] = d / math.Sqrt(float64(c.hd))
						mx = math.Max(mx, sc[key])
					}
					var sum float64
					for key := range sc {
						sc[key] = math.Exp(sc[key] - mx)
						sum += sc[key]
					}
					for j := range c.hd {
						var want float64
						for key := range sc {
							want += sc[key] / sum * float64(cache.value(0, key, g, c.hd, vb)[j])
						}
						if got := float64(rows(out)[i][h*c.hd+j]); math.Abs(got-want) > 2e-5 {
							t.Fatalf("%+v %s: row %d head %d value %d: %v, want %v", c, typ, i, h, j, got, want)
						}
					}
				}
			}
		}
	}
}

// TestExpNeg: expNeg within 1 ulp of math.Exp over [-88, 0], and 0 below float32's normal range.
func TestExpNeg(t *testing.T) {
	for i := 0; i <= 880000; i++ {
		x := -float32(i) * 1e-4
		got, want := expNeg(x), float32(math.Exp(float64(x)))
		if want < 1.1754944e-38 { // float32's smallest normal
			if got > 1.1754944e-38 {
				t.Fatalf("expNeg(%v) = %v, want about 0", x, got)
			}
			continue
		}
		if ulps := math.Abs(float64(got-want)) / float64(math.Nextafter32(want, 2)-want); ulps > 1 {
			t.Fatalf("expNeg(%v) = %v, math.Exp %v: %.1f ulp", x, got, want, ulps)
		}
	}
	if expNeg(float32(math.Inf(-1))) != 0 {
		t.Error("expNeg(-Inf) is not 0")
	}
}
