package tensor

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// halfTable lists every finite binary16 value with its bits, sorted by value, as a float64 reference.
func halfTable() (vals []float64, bits []uint16) {
	type pair struct {
		v float64
		b uint16
	}
	var ps []pair
	for b := range 1 << 16 {
		h := uint16(b)
		e := (h >> 10) & 0x1f
		if e == 0x1f || h == 0x8000 { // skip Inf/NaN and -0 (0 represents zero)
			continue
		}
		m := float64(h & 0x3ff)
		var v float64
		if e == 0 {
			v = m * math.Pow(2, -24)
		} else {
			v = (1 + m/1024) * math.Pow(2, float64(e)-15)
		}
		if h&0x8000 != 0 {
			v = -v
		}
		ps = append(ps, pair{v, h})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].v < ps[j].v })
	for _, p := range ps {
		vals = append(vals, p.v)
		bits = append(bits, p.b)
	}
	return vals, bits
}

// refF16 rounds x to the nearest binary16 (ties to an even mantissa) in float64 arithmetic.
func refF16(vals []float64, bits []uint16, x float32) uint16 {
	v := float64(x)
	sign := uint16(0)
	if math.Signbit(v) {
		sign = 0x8000
	}
	if math.Abs(v) >= 65520 { // halfway between 65504 and 2^16 rounds up to Inf
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(vals, v)
	if i < len(vals) && vals[i] == v {
		if v == 0 {
			return sign
		}
		return bits[i]
	}
	if i == 0 || i == len(vals) { // beyond ±65504 but below the Inf threshold
		return sign | 0x7bff
	}
	lo, hi := vals[i-1], vals[i]
	var pick uint16
	switch dl, dh := v-lo, hi-v; {
	case dl < dh:
		pick = bits[i-1]
	case dh < dl:
		pick = bits[i]
	default:
		if bits[i-1]&1 == 0 {
			pick = bits[i-1]
		} else {
			pick = bits[i]
		}
	}
	if pick&0x7fff == 0 {
		return sign // a result of zero keeps the sign of x
	}
	return pick
}

func TestF16AgainstReference(t *testing.T) {
	vals, bits := halfTable()
	rng := rand.New(rand.NewPCG(1, 2))
	var inputs []float32
	// Every half value, and the midpoints and near-midpoints between neighbours.
	for i := range vals {
		inputs = append(inputs, float32(vals[i]))
		if i+1 < len(vals) {
			mid := (vals[i] + vals[i+1]) / 2
			m := float32(mid)
			inputs = append(inputs, m, math.Nextafter32(m, float32(math.Inf(1))), math.Nextafter32(m, float32(math.Inf(-1))))
		}
	}
	for range 200000 {
		inputs = append(inputs, math.Float32frombits(rng.Uint32()&0x7fffffff|rng.Uint32()&0x80000000))
		inputs = append(inputs, float32(rng.NormFloat64()*math.Pow(2, float64(rng.IntN(40)-28))))
	}
	for _, x := range inputs {
		if math.IsNaN(float64(x)) {
			continue
		}
		if got, want := F32ToF16(x), refF16(vals, bits, x); got != want {
			t.Fatalf("F32ToF16(%g [%#08x]) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
		}
	}
}

func TestF16Specials(t *testing.T) {
	cases := []struct {
		in   float32
		want uint16
	}{
		{float32(math.Inf(1)), 0x7c00}, {float32(math.Inf(-1)), 0xfc00}, {float32(math.NaN()), 0x7e00},
		{math.Float32frombits(0xffc00001), 0xfe00}, {65504, 0x7bff}, {65519.99, 0x7bff}, {65520, 0x7c00},
		{1e-8, 0}, {-1e-8, 0x8000}, {5.960464477539063e-08, 0x0001}, {2.9802322387695312e-08, 0}, // exactly half of the smallest subnormal: ties to even
	}
	for _, c := range cases {
		if got := F32ToF16(c.in); got != c.want {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestF16ToF32Exact(t *testing.T) {
	for b := range 1 << 16 {
		h := uint16(b)
		f := F16ToF32(h)
		if math.IsNaN(float64(f)) {
			if (h>>10)&0x1f != 0x1f || h&0x3ff == 0 {
				t.Fatalf("%#04x decoded to NaN", h)
			}
			continue
		}
		if back := F32ToF16(f); back != h {
			t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500000 {
		x := math.Float32frombits(rng.Uint32())
		got := F32ToBF16(x)
		if math.IsNaN(float64(x)) {
			if g := BF16ToF32(got); !math.IsNaN(float64(g)) || got&64 == 0 {
				t.Fatalf("NaN %#08x became %#04x", math.Float32bits(x), got)
			}
			continue
		}
		// Reference: the nearer of the two bf16 neighbours, ties to even, compared in float64.
		u := math.Float32bits(x)
		lo := uint16(u >> 16)
		hi := lo + 1
		dl := math.Abs(float64(x) - float64(BF16ToF32(lo)))
		hv := float64(BF16ToF32(hi))
		if math.IsInf(hv, 0) { // rounding up past the largest finite value: Inf stands for ±2^128
			hv = math.Copysign(math.Ldexp(1, 128), hv)
		}
		dh := math.Abs(hv - float64(x))
		want := lo
		if u&0xffff != 0 && (dh < dl || (dh == dl && lo&1 == 1)) {
			want = hi
		}
		if got != want {
			t.Fatalf("F32ToBF16(%g [%#08x]) = %#04x, want %#04x", x, u, got, want)
		}
		if BF16ToF32(got) != math.Float32frombits(uint32(got)<<16) {
			t.Fatal("BF16ToF32 is not exact")
		}
	}
}
