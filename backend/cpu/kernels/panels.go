package kernels

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/glmtool/glmtool/tensor"
)

// Q4_0 rows packed in panels of 16 for the AMX and AVX2 kernels (q4_0_panels_amd64.s,
// q4_0_panels_avx2_amd64.s). A panel of 16 rows holds, per
// pair of blocks of 32 values, the 16 rows' f16 scales of each block (2 × 32 bytes) and then each block's
// nibbles in the order of the tile the kernel multiplies by (2 × 256 bytes; a pair is nine cache lines,
// so that no 64-byte load straddles two): the B tile has 8 rows of 64 bytes, row q holding, for each weight
// row r, its values 4q…4q+3 (unsigned, weight + 8); byte p of 64-byte chunk m has tile row 2m's byte p in
// its low nibble and tile row 2m+1's in its high nibble, so that one load, a mask and a shift give two
// tile rows. A panel is as many bytes as its 16 rows were, so the weights stream at Q4_0's density.

// PanelRows is the number of rows a panel packs.
const PanelRows = 16

// panelBlockBytes is one block of a panel: 16 scales and 16 × 32 nibbles.
const panelBlockBytes = 32 + 256

// panelScales and panelNibbles are where block b's scales and nibbles start in a panel.
func panelScales(b int) int  { return b/2*2*panelBlockBytes + 32*(b%2) }
func panelNibbles(b int) int { return b/2*2*panelBlockBytes + 64 + 256*(b%2) }

// amxStagingBytes is the kernels' scratch: four unpacked B tiles and four result tiles.
const amxStagingBytes = 2048 + 4*1024

// hasPanels: the sets whose Q4_0 kernels take rows in panels: AMX, and AVX2 (with AVX-512 but no VNNI
// too), where sixteen rows' values a block against one broadcast of the activations replace the one-row
// kernels' horizontal work; the VNNI set without AMX keeps its repacked rows.
func (s *Set) hasPanels() bool {
	return s.level >= avx512AMX || s.level >= avx2 && s.level < avx512VNNI
}

// CanPanel reports whether a rows × cols matrix of type t is packed in panels for this set's kernels:
// Q4_0 (cols a multiple of 128: the kernels take blocks four at a time), and Q8_0 for the AVX2 kernels
// (the VNNI sets repack Q8_0 rows instead).
func (s *Set) CanPanel(t tensor.Type, rows, cols int) bool {
	if rows <= 0 || rows%PanelRows != 0 || cols <= 0 || cols%128 != 0 {
		return false
	}
	switch t {
	case tensor.Q4_0:
		return s.hasPanels()
	case tensor.Q8_0:
		return s.level >= avx2 && s.level < avx512VNNI
	}
	return false
}

// Q8_0 rows in panels of 16 (the AVX2 kernels, q8_0_panels_avx2_amd64.s): per block of 32 values 544
// bytes, the 16 rows' f16 scales and then eight groups of 64 bytes, group q holding values 4q…4q+3 of row
// r at bytes 4r…4r+3 (signed, as stored), so that a 32-byte half of a group is four values of eight rows.

// panelQ8BlockBytes is one block of a Q8_0 panel.
const panelQ8BlockBytes = 32 + 512

// PackPanelQ8_0 writes the panel of 16 Q8_0 rows (src: the rows as stored) into dst, as long as src.
func PackPanelQ8_0(src, dst []byte) {
	rowBytes := len(src) / PanelRows
	for b := range rowBytes / 34 {
		out := dst[b*panelQ8BlockBytes : (b+1)*panelQ8BlockBytes]
		for r := range PanelRows {
			blk := src[r*rowBytes+34*b : r*rowBytes+34*b+34]
			copy(out[2*r:2*r+2], blk)
			for q := range 8 {
				copy(out[32+64*q+4*r:32+64*q+4*r+4], blk[2+4*q:6+4*q])
			}
		}
	}
}

// PackPanelFor is the packing of panels of type t's rows (Q4_0 or Q8_0).
func PackPanelFor(t tensor.Type) func(src, dst []byte) {
	if t == tensor.Q8_0 {
		return PackPanelQ8_0
	}
	return PackPanel
}

// gemmPanelsQ8Go is the Q8_0 panel kernels' arithmetic in Go (their twin): per block the exact Σ a·w,
// then acc = fma(float(sum)·da, dw, acc).
func gemmPanelsQ8Go(panels []byte, count, nb int, acts []byte, actStride int, tab []float32, tabStride int, out []float32, outStride, n int) {
	for p := range count {
		panel := panels[p*nb*panelQ8BlockBytes : (p+1)*nb*panelQ8BlockBytes]
		for i := range n {
			for r := range PanelRows {
				var acc float32
				for b := range nb {
					blk := panel[b*panelQ8BlockBytes:]
					act := acts[i*actStride+34*b+2 : i*actStride+34*b+34]
					var sum int32
					for k := range 32 {
						sum += int32(int8(act[k])) * int32(int8(blk[32+64*(k/4)+4*r+k%4]))
					}
					da := tab[b*tabStride+i]
					acc = float32(math.FMA(float64(float32(sum)*da), float64(tensor.HalfAt(blk[2*r:])), float64(acc)))
				}
				out[i*outStride+PanelRows*p+r] = acc
			}
		}
	}
}

// PackPanel writes the panel of 16 Q4_0 rows (src: the rows as stored, one after another) into dst, which
// is as long as src. Four bytes at a time: row r's word in chunk m pairs its values 8m'+i (low nibbles)
// and 8m'+4+i (high), m' = m mod 2, from the stored bytes' low nibbles (m < 2, values 0–15) or high
// nibbles (values 16–31).
func PackPanel(src, dst []byte) {
	rowBytes := len(src) / PanelRows
	nb := rowBytes / 18
	const lo = 0x0f0f0f0f
	for b := range nb {
		sc := dst[panelScales(b) : panelScales(b)+32]
		nib := dst[panelNibbles(b) : panelNibbles(b)+256]
		for r := range PanelRows {
			blk := src[r*rowBytes+18*b : r*rowBytes+18*b+18]
			copy(sc[2*r:2*r+2], blk)
			qs := blk[2:]
			for h := range 2 {
				w0 := binary.LittleEndian.Uint32(qs[8*h:])
				w1 := binary.LittleEndian.Uint32(qs[8*h+4:])
				binary.LittleEndian.PutUint32(nib[64*h+4*r:], w0&lo|(w1&lo)<<4)
				binary.LittleEndian.PutUint32(nib[64*(h+2)+4*r:], w0>>4&lo|w1&^lo)
			}
		}
	}
}

// packPanelGo is PackPanel value by value, as the layout is described (the test checks one against the
// other).
func packPanelGo(src, dst []byte) {
	rowBytes := len(src) / PanelRows
	for b := range rowBytes / 18 {
		for r := range PanelRows {
			copy(dst[panelScales(b)+2*r:panelScales(b)+2*r+2], src[r*rowBytes+18*b:])
		}
		nib := dst[panelNibbles(b) : panelNibbles(b)+256]
		for m := range 4 {
			for p := range 64 {
				r, i := p/4, p%4
				blk := src[r*rowBytes+18*b : r*rowBytes+18*b+18]
				nib[64*m+p] = q4Nibble(blk, 8*m+i) | q4Nibble(blk, 8*m+4+i)<<4
			}
		}
	}
}

// q4Nibble is value j (0–31) of a Q4_0 block as stored: its unsigned nibble.
func q4Nibble(blk []byte, j int) byte {
	if j < 16 {
		return blk[2+j] & 0xf
	}
	return blk[2+j-16] >> 4
}

// panelValue is value k (0–31) of row r in block b of a panel, unsigned.
func panelValue(panel []byte, b, r, k int) int32 {
	q, i := k/4, k%4
	m, hi := q/2, q%2
	byt := panel[panelNibbles(b)+64*m+4*r+i]
	if hi == 1 {
		return int32(byt >> 4)
	}
	return int32(byt & 0xf)
}

// amxConfig is the tile configuration of the AMX kernel for m tokens (16): tmm0–3 the m × 16 int32
// results, tmm4–5 the m × 32 activation bytes, tmm6–7 the 8 × 64 weight bytes.
func amxConfig(m int) [64]byte {
	var c [64]byte
	c[0] = 1 // palette 1
	set := func(t, rows, colBytes int) {
		binary.LittleEndian.PutUint16(c[16+2*t:], uint16(colBytes))
		c[48+t] = byte(rows)
	}
	for t := range 4 {
		set(t, m, 64)
	}
	set(4, m, 32)
	set(5, m, 32)
	set(6, 8, 64)
	set(7, 8, 64)
	return c
}

// ResetPanels sizes the activations for a product with Q4_0 or Q8_0 rows packed in panels: rows in ggml's
// layout (and 16 rows after them, which the kernels' tiles may read), and per block the rows' scales da
// and corrections −8·da·Σa as float32 (Q4_0's; the Q8_0 kernels read da only), token after token.
func (a *Q8Acts) ResetPanels(t tensor.Type, rows, cols int) error {
	if !a.set.CanPanel(t, PanelRows, cols) {
		return fmt.Errorf("Q8_0 activations: no panel kernels for %s rows of %d columns in the %s kernels", t, cols, a.set.Name())
	}
	nb := cols / 32
	a.cols, a.rows, a.weight, a.repacked = cols, rows, t, false
	a.k = &a.set.traits[t]
	a.stride = 0
	a.scales = a.scales[:0]
	a.panels = true
	// The 16 rows after the last are read by the kernels' tiles but only for their own (discarded)
	// results: whatever a larger product left there is harmless, so nothing is cleared per product.
	a.tabTokens = rows + PanelRows
	a.ggml = grow(a.ggml, nb*34*a.tabTokens)
	if need := 2 * nb * a.tabTokens; cap(a.tab) < need {
		a.tab = make([]float32, need)
	}
	a.tab = a.tab[:2*nb*a.tabTokens]
	return nil
}

// fillPanelRow writes token t's scales and corrections from its quantized row src.
func (a *Q8Acts) fillPanelRow(t int, src []byte) {
	T := a.tabTokens
	for b := range a.cols / 32 {
		blk := src[b*34 : b*34+34]
		var s int32
		for _, q := range blk[2:] {
			s += int32(int8(q))
		}
		da := tensor.HalfAt(blk)
		a.tab[2*b*T+t] = da
		a.tab[2*b*T+T+t] = float32(-8*s) * da
	}
}

// DotPanels sets out[i·outStride + r] to row r of the count panels in panels (16·count rows) · activation
// row t0+i, for n ≤ 16 rows; staging is the caller's scratch of StagingBytes (one per goroutine). Every
// row gets the same bits whatever n is.
func (a *Q8Acts) DotPanels(panels []byte, count, t0, n int, out []float32, outStride int, staging []byte) {
	nb := a.cols / 32
	panelBytes := PanelRows * nb * 18
	if a.weight == tensor.Q8_0 {
		panelBytes = PanelRows * nb * 34
	}
	_ = panels[count*panelBytes-1]
	_ = out[(n-1)*outStride+PanelRows*count-1]
	_ = staging[amxStagingBytes-1]
	T := a.tabTokens
	acts, tab := &a.ggml[t0*nb*34], &a.tab[t0]
	if a.weight == tensor.Q8_0 { // AVX2 only: four tokens a call, the rest one at a time
		i := 0
		for ; i+4 <= n; i += 4 {
			gemvQ8_0PanelAVX2x4(&panels[0], count, nb, &a.ggml[(t0+i)*nb*34], nb*34, &a.tab[t0+i], 8*T, &out[i*outStride], 4*outStride)
		}
		for ; i < n; i++ { // two panels at a time (two weight streams), an odd last one alone
			act, tb, o := &a.ggml[(t0+i)*nb*34], &a.tab[t0+i], out[i*outStride:]
			even := count &^ 1
			if even > 0 {
				gemvQ8_0PanelAVX2x1x2(&panels[0], even, nb, act, nb*34, tb, 8*T, &o[0], 4*outStride)
			}
			if even < count {
				gemvQ8_0PanelAVX2x1(&panels[even*panelBytes], 1, nb, act, nb*34, tb, 8*T, &o[PanelRows*even], 4*outStride)
			}
		}
		return
	}
	if a.set.level < avx512VNNI { // AVX2: four tokens a call, the rest one at a time
		i := 0
		for ; i+4 <= n; i += 4 {
			gemvQ4_0PanelAVX2x4(nil, &panels[0], count, nb, &a.ggml[(t0+i)*nb*34], nb*34, &a.tab[t0+i], 8*T, 4*T, nil, &out[i*outStride], 4*outStride, 4)
		}
		for ; i < n; i++ { // two panels at a time (two weight streams), an odd last one alone
			act, tb, o := &a.ggml[(t0+i)*nb*34], &a.tab[t0+i], out[i*outStride:]
			even := count &^ 1
			if even > 0 {
				gemvQ4_0PanelAVX2x1x2(nil, &panels[0], even, nb, act, nb*34, tb, 8*T, 4*T, nil, &o[0], 4*outStride, 1)
			}
			if even < count {
				gemvQ4_0PanelAVX2x1(nil, &panels[even*panelBytes], 1, nb, act, nb*34, tb, 8*T, 4*T, nil, &o[PanelRows*even], 4*outStride, 1)
			}
		}
		return
	}
	switch {
	case n > 4: // AMX tiles (the VNNI kernels take no configuration or staging)
		gemmQ4_0AMX16(&a.set.tileConfig[0], &panels[0], count, nb, acts, nb*34, tab, 8*T, 4*T, &staging[0], &out[0], 4*outStride, n)
	case n > 1:
		gemvQ4_0PanelVNNI4(nil, &panels[0], count, nb, acts, nb*34, tab, 8*T, 4*T, nil, &out[0], 4*outStride, n)
	default: // one token: two panels at a time (two weight streams), an odd last one alone
		even := count &^ 1
		if even > 0 {
			gemvQ4_0PanelVNNI1x2(nil, &panels[0], even, nb, acts, nb*34, tab, 8*T, 4*T, nil, &out[0], 4*outStride, n)
		}
		if even < count {
			gemvQ4_0PanelVNNI1(nil, &panels[even*panelBytes], 1, nb, acts, nb*34, tab, 8*T, 4*T, nil, &out[PanelRows*even], 4*outStride, n)
		}
	}
}

// StagingBytes is the scratch DotPanels needs per goroutine.
func StagingBytes() int { return amxStagingBytes }

// gemmPanelsGo is the AMX kernels' arithmetic in Go (their twin, and what the conformance test holds
// them to): for the first n of m tokens and 16·count rows, per block the exact Σ a·(unsigned weight), then
// acc += (float(sum)·da + corr)·dw.
func gemmPanelsGo(m int, panels []byte, count, nb int, acts []byte, actStride int, tab []float32, tabStride, corrOff int, out []float32, outStride, n int) {
	for p := range count {
		panel := panels[p*nb*panelBlockBytes : (p+1)*nb*panelBlockBytes]
		for i := range n {
			for r := range PanelRows {
				var acc float32
				for b := range nb {
					act := acts[i*actStride+34*b+2 : i*actStride+34*b+34]
					var sum int32
					for kk := range 32 {
						sum += int32(int8(act[kk])) * panelValue(panel, b, r, kk)
					}
					da, corr := tab[b*tabStride+i], tab[b*tabStride+corrOff+i]
					dw := tensor.HalfAt(panel[panelScales(b)+2*r:])
					acc += (float32(sum)*da + corr) * dw
				}
				out[i*outStride+PanelRows*p+r] = acc
			}
		}
	}
}
