package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/jsonerr"
	"github.com/glmtool/glmtool/tokenizer"
)

// Config describes a server.
type Config struct {
	Model    *infer.Model
	Name     string // the model id clients must ask for
	Ctx      int    // per-slot context
	Parallel int    // slots, each with its own KV cache
	Queue    int    // requests that may wait for a slot; more get 503
	APIKey   string // when set, every request needs "Authorization: Bearer <key>"
	MaxBody  int64  // request body limit in bytes
	KV       infer.KVType
	Logger   *slog.Logger
	// FileType is the file's quantization (Q4_0, F16, ...) and Version glmtool's, for ollama's /api/tags,
	// /api/show and /api/version.
	FileType, Version string
	// BodyTimeout bounds the time a client may take to send its request body (default 30 s), so that
	// clients trickling bodies cannot hold connections and memory; 408 after it.
	BodyTimeout time.Duration
}

// Server answers the OpenAI-compatible endpoints.
type Server struct {
	cfg     Config
	slots   *slotPool
	nextID  atomic.Int64
	created int64
	// encoders bounds the prompts being tokenized at once: encoding happens before a request waits for a
	// slot, so without it many large prompts would all be encoded (and held) concurrently.
	encoders chan struct{}
	metrics  *metrics
	batch    *batcher // prompt chunks and decode steps of all streams in shared passes (continuous batching)
}

// New allocates the slots' KV caches.
func New(cfg Config) (*Server, error) {
	if cfg.Model.Tok == nil {
		return nil, fmt.Errorf("the model has no tokenizer; the server needs one")
	}
	cfg.Parallel = max(1, cfg.Parallel)
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 8 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 30 * time.Second
	}
	s := &Server{cfg: cfg, created: time.Now().Unix(), encoders: make(chan struct{}, max(2, cfg.Parallel)), metrics: newMetrics(),
		batch: newBatcher(cfg.Model)}
	var sessions []*infer.Session
	for range cfg.Parallel {
		sess, err := cfg.Model.NewSession(cfg.Ctx, cfg.KV)
		if err != nil {
			return nil, err
		}
		sessions = append(sessions, sess)
	}
	s.slots = newSlotPool(sessions, cfg.Queue)
	return s, nil
}

// FreeSlots is the number of idle slots.
func (s *Server) FreeSlots() int { return s.slots.Idle() }

// Handler routes requests through recovery, logging and authentication.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		h := healthResponse{Status: "ok", SlotsIdle: s.FreeSlots(), Slots: s.cfg.Parallel, Backend: s.cfg.Model.Backend()}
		if v, ok := s.cfg.Model.VRAM(); ok {
			h.VRAM = &vramInfo{HeldBytes: v.Held, FreeBytes: v.Free, TotalBytes: v.Total}
		}
		writeJSON(w, http.StatusOK, h)
	})
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, modelList{Object: "list", Data: []modelInfo{{ID: s.cfg.Name, Object: "model", Created: s.created, OwnedBy: "glmtool"}}})
	})
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("POST /v1/completions", s.completion)
	mux.HandleFunc("POST /tokenize", s.tokenize)
	mux.HandleFunc("POST /detokenize", s.detokenize)
	s.ollamaRoutes(mux)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return s.middleware(mux)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	tokens *[2]int
	ollama bool // errors in ollama's style, {"error": "..."}
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (for the body's read deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

type tokensKey struct{}

func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var tokens [2]int
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, tokens: &tokens, ollama: isOllamaPath(r.URL.Path)}
		defer func() {
			if p := recover(); p != nil {
				s.cfg.Logger.Error("handler panic", "path", r.URL.Path, "panic", fmt.Sprint(p))
				writeError(sw, http.StatusInternalServerError, "server_error", "internal error")
			}
			s.metrics.request(r.URL.Path, sw.status)
			s.cfg.Logger.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
				"prompt_tokens", tokens[0], "completion_tokens", tokens[1], "duration_ms", time.Since(start).Milliseconds())
		}()
		// /health answers without the key, so that load balancers and scripts can probe a locked server.
		if s.cfg.APIKey != "" && !(r.Method == http.MethodGet && r.URL.Path == "/health") && !s.authorized(r) {
			writeError(sw, http.StatusUnauthorized, "invalid_api_key", "missing or wrong API key (Authorization: Bearer KEY)")
			return
		}
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBody)
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), tokensKey{}, &tokens)))
	})
}

// authorized compares the bearer token in constant time, so that response timing tells nothing about
// how much of a guessed key is right.
func (s *Server) authorized(r *http.Request) bool {
	want := []byte("Bearer " + s.cfg.APIKey)
	return subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	if sw, ok := w.(*statusWriter); ok && sw.ollama {
		writeJSON(w, status, ollamaError{Error: msg})
		return
	}
	var e apiError
	e.Error.Message, e.Error.Type = msg, typ
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, e)
}

// badRequest answers 400 with err's message when err is set.
func badRequest(w http.ResponseWriter, err error) bool {
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", err.Error())
	}
	return err != nil
}

// decode reads exactly one JSON object from the body within the body timeout, mapping a too-large body
// to 413, a body not sent in time to 408, and bad JSON or trailing data to 400 (with messages that name
// the field, not Go's types).
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	err := jsonerr.DecodeOne(json.NewDecoder(r.Body), v)
	if err == nil {
		// Cleared at once: the server's background read (which notices a client leaving) runs under it.
		_ = rc.SetReadDeadline(time.Time{})
	} else {
		// Otherwise net/http would read out the rest of a bad body before answering, and a trickling
		// client could hold the connection that way: answer, and close.
		w.Header().Set("Connection", "close")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "invalid_request_error", fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		writeError(w, http.StatusRequestTimeout, "invalid_request_error", fmt.Sprintf("the request body was not received within %v", s.cfg.BodyTimeout))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_request_error", "the request body is empty; want a JSON object")
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request_error", jsonerr.Describe(err))
	default:
		return true
	}
	return false
}

// encodePrompt tokenizes a prompt with room for at least one generated token, at most len(encoders) at a
// time, stopping early when the client leaves or the prompt cannot fit. ok is false when an answer has
// been written (or the client is gone).
func (s *Server) encodePrompt(w http.ResponseWriter, r *http.Request, encode func(ctx context.Context, limit int) ([]int32, error)) (ids []int32, ok bool) {
	select {
	case s.encoders <- struct{}{}:
	case <-r.Context().Done():
		return nil, false
	}
	defer func() { <-s.encoders }()
	ids, err := encode(r.Context(), s.cfg.Ctx-1)
	var tooLong *tokenizer.TooLongError
	switch {
	case errors.As(err, &tooLong):
		writeError(w, http.StatusBadRequest, "context_length_exceeded",
			fmt.Sprintf("the prompt is longer than %d tokens: the context holds %d (and the reply needs at least 1)", s.cfg.Ctx-1, s.cfg.Ctx))
		return nil, false
	case r.Context().Err() != nil:
		return nil, false // the client went away
	case badRequest(w, err):
		return nil, false
	}
	return ids, true
}

// job is one generation request, whatever its endpoint.
type job struct {
	prompt      []int32
	temperature *float32
	topP        *float32
	topK        *int
	maxTokens   *int
	stop        []string
	seed        *uint64
	stream      bool
	usage       bool
	tools       bool
	chat        bool
	cachePrompt bool // reuse a slot's cached prefix (the request's cache_prompt, default true)
	wire        wire // the API whose responses are written
	generate    bool // ollama's /api/generate (response text) rather than /api/chat (a message)
}

// wire is the response format of a job.
type wire int

const (
	wireOpenAI wire = iota
	wireOllama
)

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages is empty")
		return
	}
	maxTok := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		maxTok = req.MaxCompletionTokens
	}
	if badRequest(w, req.sampling(maxTok).validate()) {
		return
	}
	tok := s.cfg.Model.Tok
	msgs, err := toMessages(tok.Family, req.Messages, req.Tools)
	if badRequest(w, err) {
		return
	}
	stop, err := stops(req.Stop)
	if badRequest(w, err) {
		return
	}
	ids, ok := s.encodePrompt(w, r, func(ctx context.Context, limit int) ([]int32, error) {
		return tok.ChatPromptContext(ctx, msgs, limit)
	})
	if !ok {
		return
	}
	s.run(w, r, job{prompt: ids, temperature: req.Temperature, topP: req.TopP, maxTokens: maxTok, stop: stop,
		seed: req.Seed, stream: req.Stream, usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage, tools: len(req.Tools) > 0, chat: true,
		cachePrompt: req.CachePrompt == nil || *req.CachePrompt})
}

func (s *Server) completion(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !s.decode(w, r, &req) {
		return
	}
	if badRequest(w, req.sampling().validate()) {
		return
	}
	var prompt string
	if err := json.Unmarshal(req.Prompt, &prompt); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "prompt must be a string")
		return
	}
	stop, err := stops(req.Stop)
	if badRequest(w, err) {
		return
	}
	ids, ok := s.encodePrompt(w, r, func(ctx context.Context, limit int) ([]int32, error) {
		return s.cfg.Model.Tok.EncodeWithSpecialsContext(ctx, prompt, limit)
	})
	if !ok {
		return
	}
	s.run(w, r, job{prompt: ids, temperature: req.Temperature, topP: req.TopP, maxTokens: req.MaxTokens,
		stop: stop, seed: req.Seed, stream: req.Stream, cachePrompt: req.CachePrompt == nil || *req.CachePrompt})
}

func (s *Server) run(w http.ResponseWriter, r *http.Request, j job) {
	if n := len(j.prompt); n >= s.cfg.Ctx {
		writeError(w, http.StatusBadRequest, "context_length_exceeded",
			fmt.Sprintf("the prompt has %d tokens; the context holds %d (and the reply needs at least 1)", n, s.cfg.Ctx))
		return
	}
	sl, cached, err := s.slots.acquire(r.Context(), j.prompt, j.cachePrompt)
	if errors.Is(err, errQueueFull) {
		writeError(w, http.StatusServiceUnavailable, "server_busy", "all slots are busy and the queue is full; retry later")
		return
	}
	if err != nil {
		return // the client went away while waiting
	}
	defer s.slots.release(sl)
	sess := sl.sess
	// The prompt cache: keep the cached tokens this prompt starts with and evaluate only the rest (at
	// least one token, whose logits start the reply).
	cached = min(cached, len(j.prompt)-1)
	sess.Truncate(cached)

	opt := infer.Defaults(string(s.cfg.Model.Params.Family))
	if j.temperature != nil {
		opt.Temperature = *j.temperature
	}
	if j.topP != nil {
		opt.TopP = *j.topP
	}
	if j.topK != nil {
		opt.TopK = *j.topK
	}
	if j.seed != nil {
		opt.Seed = *j.seed
	} else {
		opt.Seed = uint64(time.Now().UnixNano())
	}
	// Every request is capped at the context: without max_tokens, the reply may fill what is left of it.
	maxTokens := s.cfg.Ctx - len(j.prompt)
	if j.maxTokens != nil {
		maxTokens = min(maxTokens, *j.maxTokens)
	}
	out := newOutput(s, w, j)
	dec := s.cfg.Model.Tok.NewDecoder()
	post := tokenizer.NewPostProcessor(s.cfg.Model.Params.Family)
	if !j.chat {
		post = tokenizer.NewPostProcessor("")
	}
	prompt, step, endStream := s.batch.stream(sess)
	defer endStream()
	res, err := sess.Generate(r.Context(), j.prompt[cached:], infer.GenerateOptions{MaxTokens: maxTokens, Stops: s.cfg.Model.Stops,
		Sampler: infer.NewSampler(opt), Prompt: prompt, Step: step,
		OnToken: func(id int32) bool {
			return out.add(post.Write(string(dec.Next(id)))) && r.Context().Err() == nil
		}})
	if err != nil {
		out.fail(err)
		return
	}
	out.add(post.Write(string(dec.Flush())) + post.Flush())
	if tk, ok := r.Context().Value(tokensKey{}).(*[2]int); ok {
		tk[0], tk[1] = len(j.prompt), len(res.Generated)
	}
	s.metrics.generation(len(j.prompt), cached, len(res.Generated), res.PromptTime, res.GenTime)
	reason := "stop"
	if res.StopReason == "length" || res.StopReason == "context" {
		reason = "length"
	}
	out.finish(reason, usage{PromptTokens: len(j.prompt), CompletionTokens: len(res.Generated), TotalTokens: len(j.prompt) + len(res.Generated),
		PromptDetails: &promptDetails{CachedTokens: cached}}, res)
}

func (s *Server) id(prefix string) string {
	return prefix + "-" + strconv.FormatInt(s.nextID.Add(1), 10)
}

func hasAny(s string, subs []string) (int, bool) {
	best := -1
	for _, sub := range subs {
		if sub == "" {
			continue
		}
		if i := strings.Index(s, sub); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}
