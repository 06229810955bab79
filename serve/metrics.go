package serve

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// metrics are the server's counters, exposed at GET /metrics in Prometheus's text format (version 0.0.4),
// the names prefixed glmtool_ as llama-server prefixes its own.
type metrics struct {
	mu              sync.Mutex
	requests        map[string]map[int]int64 // path → status → count
	promptTokens    int64                    // evaluated prompt tokens
	cachedTokens    int64                    // prompt tokens taken from a slot's cache
	generatedTokens int64
	promptSeconds   float64
	genSeconds      float64
}

func newMetrics() *metrics { return &metrics{requests: map[string]map[int]int64{}} }

// known are the paths counted by name; anything else is counted as "other", so that a scan of random
// paths cannot grow the label set without bound.
var knownPaths = map[string]bool{"/v1/chat/completions": true, "/v1/completions": true, "/v1/models": true, "/health": true,
	"/tokenize": true, "/detokenize": true, "/metrics": true, "/api/chat": true, "/api/generate": true, "/api/tags": true,
	"/api/show": true, "/api/ps": true, "/api/version": true}

func (m *metrics) request(path string, status int) {
	if !knownPaths[path] {
		path = "other"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests[path] == nil {
		m.requests[path] = map[int]int64{}
	}
	m.requests[path][status]++
}

func (m *metrics) generation(prompt, cached, generated int, promptTime, genTime time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.promptTokens += int64(prompt - cached)
	m.cachedTokens += int64(cached)
	m.generatedTokens += int64(generated)
	m.promptSeconds += promptTime.Seconds()
	m.genSeconds += genTime.Seconds()
}

// write is the exposition: counters, then the gauges read now from the server.
func (m *metrics) write(w io.Writer, s *Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	metric := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP glmtool_%s %s\n# TYPE glmtool_%s %s\n", name, help, name, typ)
	}
	metric("requests_total", "counter", "HTTP requests answered, by path and status.")
	paths := make([]string, 0, len(m.requests))
	for p := range m.requests {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		codes := make([]int, 0, len(m.requests[p]))
		for c := range m.requests[p] {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		for _, c := range codes {
			fmt.Fprintf(w, "glmtool_requests_total{path=%q,status=\"%d\"} %d\n", p, c, m.requests[p][c])
		}
	}
	counter := func(name, help string, v any) {
		metric(name, "counter", help)
		fmt.Fprintf(w, "glmtool_%s %v\n", name, v)
	}
	gauge := func(name, help string, v any) {
		metric(name, "gauge", help)
		fmt.Fprintf(w, "glmtool_%s %v\n", name, v)
	}
	counter("prompt_tokens_total", "Prompt tokens evaluated (not counting those taken from a slot's cache).", m.promptTokens)
	counter("prompt_tokens_cached_total", "Prompt tokens taken from a slot's cache (prompt cache hits).", m.cachedTokens)
	counter("tokens_predicted_total", "Tokens generated.", m.generatedTokens)
	counter("prompt_seconds_total", "Time spent evaluating prompts.", m.promptSeconds)
	counter("tokens_predicted_seconds_total", "Time spent generating.", m.genSeconds)
	rate := func(n int64, secs float64) float64 {
		if secs == 0 {
			return 0
		}
		return float64(n) / secs
	}
	gauge("prompt_tokens_seconds", "Average prompt throughput, tokens per second.", rate(m.promptTokens, m.promptSeconds))
	gauge("predicted_tokens_seconds", "Average generation throughput, tokens per second.", rate(m.generatedTokens, m.genSeconds))
	gauge("requests_processing", "Slots busy with a request.", s.cfg.Parallel-s.FreeSlots())
	gauge("requests_deferred", "Requests waiting for a slot.", s.slots.waiting.Load())
	gauge("slots", "Slots, each with its own KV cache.", s.cfg.Parallel)
	s.batch.mu.Lock()
	batches, steps, chunks, beside := s.batch.batches, s.batch.steps, s.batch.chunks, s.batch.beside
	s.batch.mu.Unlock()
	counter("decode_batches_total", "Decode passes over the weights (continuous batching).", batches)
	counter("decode_batch_steps_total", "Streams' decode steps in those passes (÷ passes: the mean batch size).", steps)
	counter("prompt_chunks_total", "Prompt chunks evaluated (64 tokens at most each).", chunks)
	counter("prompt_chunks_beside_decode_total", "Prompt chunks evaluated in one pass with running streams' decode steps.", beside)
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.write(w, s)
}
