package cpu

import (
	"cmp"
	"fmt"
	"sync"

	"github.com/glmtool/glmtool/backend/cpu/kernels"
	"github.com/glmtool/glmtool/internal/mmap"
)

// makeResident copies the matrices that every token streams (all but the lookup tables) from the file
// mapping into anonymous memory on transparent huge pages, and gives the mapped file pages back.
// Page-cache pages are mostly 4 KiB, so streaming them costs a TLB miss every page; measured on the
// synthetic ChatGLM3-6B Q4_0 at 2 threads this more than doubled the decode rate (docs/BENCHMARKS.md).
// The token embedding stays mapped: a token reads one row of it. The copy runs on every worker. When the
// copy would take more than 90 % of the memory the kernel reports available, the weights stay mapped.
func (b *Backend) makeResident() error {
	var ws []*matrix
	for _, w := range b.matrices {
		if !w.src.Lookup && w.src.Read != nil {
			ws = append(ws, w)
		}
	}
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
	for range b.threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				w := ws[i]
				dst := mem.Data[offsets[i] : offsets[i]+len(w.data)]
				// pread: copying from the mapping would fault in every 4 KiB page first.
				if err := readMatrix(b.k, w, dst); err != nil {
					errMu.Lock()
					first = cmp.Or(first, fmt.Errorf("read %s: %w", w.src.Name, err))
					errMu.Unlock()
					continue
				}
				if w.src.Release != nil {
					w.src.Release()
				}
				w.data = dst
				w.panels = b.k.CanPanel(w.src.Type, w.src.Rows, w.src.Cols)
				w.kpanels = b.k.CanKPanel(w.src.Type, w.src.Rows, w.src.Cols)
				w.repacked = !w.panels && !w.kpanels && b.k.CanRepack(w.src.Type, w.src.Cols)
			}
		}()
	}
	wg.Wait()
	if first != nil {
		_ = mem.Close()
		return first
	}
	b.panelBuffers()
	b.resident = mem
	return nil
}

// readMatrix reads w's rows into dst, packed in panels or repacked for the kernels when the set has such a
// form, through a buffer of about a megabyte.
func readMatrix(k *kernels.Set, w *matrix, dst []byte) error {
	if k.CanPanel(w.src.Type, w.src.Rows, w.src.Cols) {
		return readPanels(w, dst, kernels.PanelRows, kernels.PackPanelFor(w.src.Type))
	}
	if k.CanKPanel(w.src.Type, w.src.Rows, w.src.Cols) {
		return readPanels(w, dst, kernels.KPanelRows, kernels.PackKPanel)
	}
	if !k.CanRepack(w.src.Type, w.src.Cols) {
		return w.src.Read(0, dst)
	}
	step := max(1, (1<<20)/w.rowBytes)
	buf := make([]byte, step*w.rowBytes)
	for r := 0; r < w.src.Rows; r += step {
		n := min(step, w.src.Rows-r)
		chunk := buf[:n*w.rowBytes]
		if err := w.src.Read(int64(r*w.rowBytes), chunk); err != nil {
			return err
		}
		for i := range n {
			kernels.RepackRow(w.src.Type, chunk[i*w.rowBytes:(i+1)*w.rowBytes], dst[(r+i)*w.rowBytes:(r+i+1)*w.rowBytes])
		}
	}
	return nil
}

// readPanels reads w's rows into dst packed by pack in panels of rows rows, a few panels at a time.
func readPanels(w *matrix, dst []byte, rows int, pack func(src, dst []byte)) error {
	panelBytes := rows * w.rowBytes
	step := max(1, (1<<20)/panelBytes)
	buf := make([]byte, step*panelBytes)
	panels := w.src.Rows / rows
	for p := 0; p < panels; p += step {
		n := min(step, panels-p)
		chunk := buf[:n*panelBytes]
		if err := w.src.Read(int64(p*panelBytes), chunk); err != nil {
			return err
		}
		for i := range n {
			pack(chunk[i*panelBytes:(i+1)*panelBytes], dst[(p+i)*panelBytes:(p+i+1)*panelBytes])
		}
	}
	return nil
}

// panelBuffers sizes the workers' scratch and results for the panel products (panelsPerCall panels of up
// to 16 tokens each), where any matrix is packed in panels.
func (b *Backend) panelBuffers() {
	most := 0
	for _, w := range b.matrices {
		if w.panels {
			most = max(most, kernels.PanelRows*panelsPerCall(w, kernels.PanelRows))
		}
		if w.kpanels {
			most = max(most, kernels.KPanelRows*panelsPerCall(w, kernels.KPanelRows))
		}
	}
	if most == 0 {
		return
	}
	b.staging = make([][]byte, b.threads)
	b.panelOut = make([][]float32, b.threads)
	for i := range b.threads {
		b.staging[i] = make([]byte, kernels.StagingBytes())
		b.panelOut[i] = make([]float32, 16*most)
	}
}
