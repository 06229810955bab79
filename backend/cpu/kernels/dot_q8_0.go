package kernels

import "github.com/glmtool/glmtool/tensor"

// Block dot products between a Q4_0 or Q8_0 weight row and activations quantized to Q8_0, as ggml's CPU
// backend does (vec_dot_q4_0_q8_0, vec_dot_q8_0_q8_0): exact integer sums within a block, scaled by dw·da.

// The block dots keep eight float32 partial sums, one per group of four values, as the AVX2 kernels keep
// them in a vector register: lane k of block b adds float32(Σ_{j=4k}^{4k+3} w_j·a_j)·(dw·da). The final
// reduction adds the lanes in the kernel's order. Integer sums are exact and every float step is written out
// (no FMA), so the Go and assembly versions agree bit for bit.

func reduceLanes(acc *[8]float32) float32 {
	x0, x1, x2, x3 := acc[0]+acc[4], acc[1]+acc[5], acc[2]+acc[6], acc[3]+acc[7]
	return float32(x0+x2) + float32(x1+x3)
}

func dotQ4_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	var wq [32]int32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*18 : b*18+18]
		ab := a[b*34 : b*34+34]
		for j, q := range wb[2:18] {
			wq[j], wq[j+16] = int32(q&0xf)-8, int32(q>>4)-8
		}
		d := float32(tensor.HalfAt(wb) * tensor.HalfAt(ab))
		aq := ab[2:34]
		for k := range 8 {
			li := wq[4*k]*int32(int8(aq[4*k])) + wq[4*k+1]*int32(int8(aq[4*k+1])) +
				wq[4*k+2]*int32(int8(aq[4*k+2])) + wq[4*k+3]*int32(int8(aq[4*k+3]))
			acc[k] += float32(float32(li) * d)
		}
	}
	return reduceLanes(&acc)
}

func dotQ8_0Q8_0Go(w, a []byte) float32 {
	var acc [8]float32
	for b := 0; b < len(a)/34; b++ {
		wb := w[b*34 : b*34+34]
		ab := a[b*34 : b*34+34]
		d := float32(tensor.HalfAt(wb) * tensor.HalfAt(ab))
		wq, aq := wb[2:34], ab[2:34]
		for k := range 8 {
			var li int32
			for j := 4 * k; j < 4*k+4; j++ {
				li += int32(int8(wq[j])) * int32(int8(aq[j]))
			}
			acc[k] += float32(float32(li) * d)
		}
	}
	return reduceLanes(&acc)
}
