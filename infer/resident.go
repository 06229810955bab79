package infer

import (
	"cmp"
	"fmt"
	"sync"

	"github.com/glmtool/glmtool/internal/mmap"
)

// makeResident copies the matrices that every token streams (all layers' weights and the output matrix)
// from the file mapping into anonymous memory on transparent huge pages, and gives the mapped file pages
// back. Page-cache pages are mostly 4 KiB, so streaming them costs a TLB miss every page; measured on the
// synthetic ChatGLM3-6B Q4_0 at 2 threads this more than doubled the decode rate (docs/BENCHMARKS.md).
// The token embedding stays mapped: a token reads one row of it. The copy runs on every worker.
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
				if err := m.File.ReadRange(t, 0, dst); err != nil {
					errMu.Lock()
					first = cmp.Or(first, fmt.Errorf("read %s: %w", w.name, err))
					errMu.Unlock()
					continue
				}
				m.File.Release(t)
				w.data = dst
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
