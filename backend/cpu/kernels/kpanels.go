package kernels

import (
	"unsafe"

	"github.com/glmtool/glmtool/tensor"
)

// Q4_K rows packed in panels of 8 for the AVX2 kernels (q4_k_panels_avx2_amd64.s). The one-row Q4_K
// kernels spend two multiplies per 32 products and token (VPMADDUBSW, then VPMADDWD by the sub-block's
// scale); with eight rows across a register's lanes a sub-block's eight VPMADDUBSW add up in int16 and
// one VPMADDWD by the eight rows' scales ends it, nine multiplies per 256 products.
//
// A panel holds, per super-block of 256 values, 1152 bytes (the eight rows' 8 × 144): the rows' d (8 f16),
// their dmin (8 f16), the three 32-bit words of each row's packed six-bit scales and mins (word k of row
// r at 32 + 32k + 4r, so that ggml's unpacking runs in the lanes), then per sub-block j of 32 values 128
// bytes of nibbles: four groups m of 32 bytes whose byte 4r+i has value 8m+i of row r in its low nibble
// and value 8m+4+i in its high nibble (four consecutive values of a row per 32-bit lane, as in panels.go).

// KPanelRows is the number of rows a Q4_K panel packs.
const KPanelRows = 8

// kpanelBlockBytes is one super-block of a panel.
const kpanelBlockBytes = KPanelRows * 144

// CanKPanel reports whether a rows × cols matrix of type t is packed in Q4_K panels for this set: the
// AVX2 set only (the AVX-512 sets have their own Q4_K kernels).
func (s *Set) CanKPanel(t tensor.Type, rows, cols int) bool {
	return s.level >= avx2 && s.level < avx512 && t == tensor.Q4_K && rows > 0 && rows%KPanelRows == 0 && cols > 0 && cols%tensor.QK_K == 0
}

// PackKPanel writes the panel of 8 Q4_K rows (src: the rows as stored, one after another) into dst, which
// is as long as src.
func PackKPanel(src, dst []byte) {
	rowBytes := len(src) / KPanelRows
	for b := range rowBytes / 144 {
		out := dst[b*kpanelBlockBytes : (b+1)*kpanelBlockBytes]
		for r := range KPanelRows {
			blk := src[r*rowBytes+144*b : r*rowBytes+144*b+144]
			copy(out[2*r:2*r+2], blk[0:2])
			copy(out[16+2*r:16+2*r+2], blk[2:4])
			for k := range 3 {
				copy(out[32+32*k+4*r:32+32*k+4*r+4], blk[4+4*k:8+4*k])
			}
			qs := blk[16:]
			for j := range 8 {
				c, shift := 32*(j/2), uint(4*(j%2))
				for m := range 4 {
					for i := range 4 {
						lo := qs[c+8*m+i] >> shift & 0xf
						hi := qs[c+8*m+4+i] >> shift & 0xf
						out[128+128*j+32*m+4*r+i] = lo | hi<<4
					}
				}
			}
		}
	}
}

// kpanelRow writes row r of a panel of nb super-blocks back in Q4_K's layout (144·nb bytes to dst): the
// inverse of PackKPanel, which the test checks and the Go twins compute with.
func kpanelRow(panel []byte, nb, r int, dst []byte) {
	for b := range nb {
		in := panel[b*kpanelBlockBytes : (b+1)*kpanelBlockBytes]
		blk := dst[144*b : 144*b+144]
		copy(blk[0:2], in[2*r:])
		copy(blk[2:4], in[16+2*r:])
		for k := range 3 {
			copy(blk[4+4*k:8+4*k], in[32+32*k+4*r:])
		}
		qs := blk[16:]
		clear(qs)
		for j := range 8 {
			c, shift := 32*(j/2), uint(4*(j%2))
			for m := range 4 {
				for i := range 4 {
					v := in[128+128*j+32*m+4*r+i]
					qs[c+8*m+i] |= (v & 0xf) << shift
					qs[c+8*m+4+i] |= (v >> 4) << shift
				}
			}
		}
	}
}

// DotKPanels sets out[i·outStride + r] to row r of the count panels (8·count rows) · Q8_K activation row
// i of acts (rows actRow bytes apart), for n tokens: four at a time, the rest one at a time. Each row
// gets DotKQ8_K's bits, whatever n is.
func (s *Set) DotKPanels(panels []byte, count int, acts []byte, actRow, n int, out []float32, outStride int) {
	nb := actRow / 292
	_ = panels[count*nb*kpanelBlockBytes-1]
	_ = acts[(n-1)*actRow+nb*292-1]
	_ = out[(n-1)*outStride+KPanelRows*count-1]
	i := 0
	for ; i+4 <= n; i += 4 {
		gemvQ4_KPanelAVX2x4(&panels[0], count, nb, &acts[i*actRow], actRow, &out[i*outStride], 4*outStride)
	}
	even := count &^ 1
	for ; i < n; i++ { // two panels at a time (two weight streams), an odd last one alone
		if even > 0 {
			gemvQ4_KPanelAVX2x1x2(&panels[0], even, nb, &acts[i*actRow], actRow, &out[i*outStride], 4*outStride)
		}
		if even < count {
			gemvQ4_KPanelAVX2x1(&panels[even*nb*kpanelBlockBytes], 1, nb, &acts[i*actRow], actRow, &out[i*outStride+KPanelRows*even], 4*outStride)
		}
	}
}

// gemmKPanelsGo is the panel kernels in Go (their twin): each row taken back out of its panel and dotted
// as DotKQ8_K dots it, for n tokens.
func gemmKPanelsGo(panels *byte, count, nb int, acts *byte, actStride int, out *float32, outStride, n int) {
	ps := unsafe.Slice(panels, count*nb*kpanelBlockBytes)
	as := unsafe.Slice(acts, (n-1)*actStride+292*nb)
	os := unsafe.Slice(out, (n-1)*outStride/4+KPanelRows*count)
	row := make([]byte, 144*nb)
	for p := range count {
		for r := range KPanelRows {
			kpanelRow(ps[p*nb*kpanelBlockBytes:], nb, r, row)
			for t := range n {
				os[t*outStride/4+KPanelRows*p+r] = dotQ4_KQ8_KGo(row, as[t*actStride:t*actStride+292*nb])
			}
		}
	}
}
