package infer

import (
	"cmp"
	"fmt"
	"sync"

	"github.com/glmtool/glmtool/gguf"
	"github.com/glmtool/glmtool/internal/mmap"
	"github.com/glmtool/glmtool/tensor"
)

// makeResident copies the matrices that every token streams (all layers' weights and the output matrix)
// from the file mapping into anonymous memory on transparent huge pages, and gives the mapped file pages
// back. Page-cache pages are mostly 4 KiB, so streaming them costs a TLB miss every page; measured on the
// synthetic ChatGLM3-6B Q4_0 at 2 threads this more than doubled the decode rate (docs/BENCHMARKS.md).
// The token embedding stays mapped: a token reads one row of it. The copy runs on every worker. When the
// copy would take more than 90 % of the memory the kernel reports available, the weights stay mapped.
func (m *Model) makeResident() error {
	var ws []*weight
	seen := map[*weight]bool{m.tokEmbd: true}
	add := func(w *weight) {
		if w != nil && !seen[w] {
			seen[w] = true
			ws = append(ws, w)
		}
	}
	for i := range m.layers {
		ly := &m.layers[i]
		add(ly.qkv)
		add(ly.attnOut)
		add(ly.up)
		add(ly.down)
	}
	add(m.output)
	total := 0
	offsets := make([]int, len(ws))
	for i, w := range ws {
		offsets[i] = total
		total += (len(w.data) + 63) &^ 63 // 64-byte aligned rows start on cache lines
	}
	// A copy that does not fit would be killed by the kernel; the mapping can still page from the file.
	if avail := mmap.Available(); avail >= 0 && int64(total) > avail/10*9 {
		return nil
	}
	mem, err := mmap.NewAnonymous(total)
	if err != nil {
		return fmt.Errorf("keep weights in memory: %w", err)
	}
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
	)
	next := make(chan int, len(ws))
	for i := range ws {
		next <- i
	}
	close(next)
	for range m.threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				w := ws[i]
				dst := mem.Data[offsets[i] : offsets[i]+len(w.data)]
				// pread: copying from the mapping would fault in every 4 KiB page first.
				t, _ := m.File.Tensor(w.name)
				if err := readWeight(m.File, t, w, dst); err != nil {
					errMu.Lock()
					first = cmp.Or(first, fmt.Errorf("read %s: %w", w.name, err))
					errMu.Unlock()
					continue
				}
				m.File.Release(t)
				w.data = dst
				w.repacked = tensor.CanRepack(w.typ, w.cols)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		_ = mem.Close()
		return first
	}
	m.resident = mem
	return nil
}

// readWeight reads w's rows into dst, repacked for the kernels when the CPU has a repacked form, through a
// buffer of about a megabyte.
func readWeight(f *gguf.File, t *gguf.TensorInfo, w *weight, dst []byte) error {
	if !tensor.CanRepack(w.typ, w.cols) {
		return f.ReadRange(t, 0, dst)
	}
	step := max(1, (1<<20)/w.rowBytes)
	buf := make([]byte, step*w.rowBytes)
	for r := 0; r < w.rows; r += step {
		n := min(step, w.rows-r)
		chunk := buf[:n*w.rowBytes]
		if err := f.ReadRange(t, int64(r*w.rowBytes), chunk); err != nil {
			return err
		}
		for i := range n {
			tensor.RepackRow(w.typ, chunk[i*w.rowBytes:(i+1)*w.rowBytes], dst[(r+i)*w.rowBytes:(r+i+1)*w.rowBytes])
		}
	}
	return nil
}
