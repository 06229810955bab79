package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/tokenizer"
)

// ollama's API (github.com/ollama/ollama docs/api.md) beside OpenAI's, on the same port: many local tools
// speak only this one. Replies stream as NDJSON by default; errors are {"error": "..."}.

type ollamaOptions struct {
	Temperature *float32 `json:"temperature"`
	TopK        *int     `json:"top_k"`
	TopP        *float32 `json:"top_p"`
	NumPredict  *int     `json:"num_predict"` // -1: no limit; -2: fill the context
	NumCtx      *int     `json:"num_ctx"`
	Seed        *uint64  `json:"seed"`
	Stop        []string `json:"stop"`
}

type ollamaMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type ollamaChatRequest struct {
	Model    string          `json:"model"`
	Messages []ollamaMessage `json:"messages"`
	Stream   *bool           `json:"stream"`
	Format   json.RawMessage `json:"format"`
	Options  ollamaOptions   `json:"options"`
	Tools    json.RawMessage `json:"tools"`
}

type ollamaGenerateRequest struct {
	Model   string          `json:"model"`
	Prompt  string          `json:"prompt"`
	System  string          `json:"system"`
	Raw     bool            `json:"raw"`
	Stream  *bool           `json:"stream"`
	Format  json.RawMessage `json:"format"`
	Options ollamaOptions   `json:"options"`
}

// ollamaChunk is one NDJSON line of a reply (the last one, done, carries the counts and durations in ns).
type ollamaChunk struct {
	Model              string         `json:"model"`
	CreatedAt          string         `json:"created_at"`
	Message            *ollamaMessage `json:"message,omitempty"`
	Response           *string        `json:"response,omitempty"`
	Done               bool           `json:"done"`
	DoneReason         string         `json:"done_reason,omitempty"`
	TotalDuration      int64          `json:"total_duration,omitempty"`
	LoadDuration       int64          `json:"load_duration,omitempty"`
	PromptEvalCount    int            `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64          `json:"prompt_eval_duration,omitempty"`
	EvalCount          int            `json:"eval_count,omitempty"`
	EvalDuration       int64          `json:"eval_duration,omitempty"`
}

type ollamaError struct {
	Error string `json:"error"`
}

type ollamaDetails struct {
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

type ollamaModel struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	ModifiedAt string        `json:"modified_at,omitempty"`
	Size       int64         `json:"size"`
	Digest     string        `json:"digest"`
	Details    ollamaDetails `json:"details"`
	ExpiresAt  string        `json:"expires_at,omitempty"`
	SizeVRAM   *int64        `json:"size_vram,omitempty"`
}

// ollamaName is the served model as ollama names models: NAME:TAG.
func (s *Server) ollamaName() string { return s.cfg.Name + ":latest" }

func (s *Server) ollamaModelInfo() ollamaModel {
	f := s.cfg.Model.File
	size := int64(0)
	for i := range f.Tensors {
		size += f.Tensors[i].Size
	}
	n := f.ParameterCount()
	psize := fmt.Sprintf("%.1fM", float64(n)/1e6)
	if n >= 1e9 {
		psize = fmt.Sprintf("%.1fB", float64(n)/1e9)
	}
	fam := string(s.cfg.Model.Params.Family)
	return ollamaModel{Name: s.ollamaName(), Model: s.ollamaName(), ModifiedAt: time.Unix(s.created, 0).UTC().Format(time.RFC3339),
		Size: size, Digest: fmt.Sprintf("%x", s.created), Details: ollamaDetails{Format: "gguf", Family: fam, Families: []string{fam},
			ParameterSize: psize, QuantizationLevel: s.cfg.FileType}}
}

func (s *Server) ollamaRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Models []ollamaModel `json:"models"`
		}{[]ollamaModel{s.ollamaModelInfo()}})
	})
	mux.HandleFunc("GET /api/ps", func(w http.ResponseWriter, r *http.Request) {
		m := s.ollamaModelInfo()
		vram := int64(0) // the CPU backend holds nothing in video memory
		if v, ok := s.cfg.Model.VRAM(); ok {
			vram = v.Held
		}
		m.SizeVRAM, m.ExpiresAt = &vram, time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)
		writeJSON(w, http.StatusOK, struct {
			Models []ollamaModel `json:"models"`
		}{[]ollamaModel{m}})
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		if !s.decode(w, r, &req) {
			return
		}
		p := s.cfg.Model.Params
		k := arch.KeysFor(p.Family.Architecture())
		// ollama's model_info: GGUF keys and their values (general.parameter_count is ollama's own).
		info := map[string]any{arch.KeyArchitecture: p.Family.Architecture(), "general.parameter_count": s.cfg.Model.File.ParameterCount(),
			k.ContextLength(): p.ContextLength, k.EmbeddingLength(): p.Embedding, k.BlockCount(): p.Blocks,
			k.HeadCount(): p.Heads, k.HeadCountKV(): p.HeadsKV}
		tmpl, _ := s.cfg.Model.File.Meta.String(arch.KeyChatTemplate)
		writeJSON(w, http.StatusOK, struct {
			Template  string         `json:"template"`
			Details   ollamaDetails  `json:"details"`
			ModelInfo map[string]any `json:"model_info"`
		}{tmpl, s.ollamaModelInfo().Details, info})
	})
	mux.HandleFunc("POST /api/chat", s.ollamaChat)
	mux.HandleFunc("POST /api/generate", s.ollamaGenerate)
}

// ollamaJob turns ollama's options into a job; stream defaults to true.
func (s *Server) ollamaJob(w http.ResponseWriter, stream *bool, format json.RawMessage, o ollamaOptions) (job, bool) {
	if len(format) > 0 && string(format) != "null" && string(format) != `""` {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "format (constrained JSON output) is not supported yet")
		return job{}, false
	}
	j := job{temperature: o.Temperature, topP: o.TopP, topK: o.TopK, seed: o.Seed, stop: o.Stop, stream: stream == nil || *stream,
		wire: wireOllama, cachePrompt: true}
	if o.NumPredict != nil && *o.NumPredict > 0 {
		j.maxTokens = o.NumPredict
	} else if o.NumPredict != nil && *o.NumPredict != -1 && *o.NumPredict != -2 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("options.num_predict %d: want 1 or more, -1 (no limit) or -2 (fill the context)", *o.NumPredict))
		return job{}, false
	}
	if o.NumCtx != nil && (*o.NumCtx < 1 || *o.NumCtx > s.cfg.Ctx) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("options.num_ctx %d: this server's slots hold %d tokens (glmtool serve --ctx)", *o.NumCtx, s.cfg.Ctx))
		return job{}, false
	}
	if o.TopK != nil && *o.TopK < 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("options.top_k %d: want 0 or more", *o.TopK))
		return job{}, false
	}
	if err := (sampling{temperature: o.Temperature, topP: o.TopP}).validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "options."+err.Error())
		return job{}, false
	}
	return j, true
}

func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	var req ollamaChatRequest
	if !s.decode(w, r, &req) {
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "messages is empty")
		return
	}
	if len(req.Tools) > 0 && string(req.Tools) != "null" && string(req.Tools) != "[]" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "tools are served on /v1/chat/completions; /api/chat has none yet")
		return
	}
	j, ok := s.ollamaJob(w, req.Stream, req.Format, req.Options)
	if !ok {
		return
	}
	msgs := make([]chatMessage, len(req.Messages))
	for i, m := range req.Messages {
		content, _ := json.Marshal(m.Content)
		msgs[i] = chatMessage{Role: m.Role, Content: content}
	}
	tok := s.cfg.Model.Tok
	conv, err := toMessages(tok.Family, msgs, nil)
	if badRequest(w, err) {
		return
	}
	ids, ok := s.encodePrompt(w, r, func(ctx context.Context, limit int) ([]int32, error) { return tok.ChatPromptContext(ctx, conv, limit) })
	if !ok {
		return
	}
	j.prompt, j.chat = ids, true
	s.run(w, r, j)
}

func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	var req ollamaGenerateRequest
	if !s.decode(w, r, &req) {
		return
	}
	j, ok := s.ollamaJob(w, req.Stream, req.Format, req.Options)
	if !ok {
		return
	}
	tok := s.cfg.Model.Tok
	var conv []tokenizer.Message
	if req.System != "" {
		if !tok.SupportsRoles() {
			writeError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("%s has no system role (ChatGLM3 and GLM-4 have)", tok.Family))
			return
		}
		conv = append(conv, tokenizer.Message{Role: "system", Content: req.System})
	}
	conv = append(conv, tokenizer.Message{Role: "user", Content: req.Prompt})
	ids, ok := s.encodePrompt(w, r, func(ctx context.Context, limit int) ([]int32, error) {
		if req.Raw {
			return tok.EncodeWithSpecialsContext(ctx, req.Prompt, limit)
		}
		return tok.ChatPromptContext(ctx, conv, limit)
	})
	if !ok {
		return
	}
	j.prompt, j.chat = ids, !req.Raw
	j.generate = true
	s.run(w, r, j)
}

// ollamaStream writes one NDJSON line of streamed text.
func (o *output) ollamaStream(text string) {
	if !o.started {
		o.w.Header().Set("Content-Type", "application/x-ndjson")
		o.w.WriteHeader(http.StatusOK)
		o.started = true
	}
	o.ollamaLine(o.ollamaChunk(text))
}

func (o *output) ollamaChunk(text string) ollamaChunk {
	c := ollamaChunk{Model: o.s.ollamaName(), CreatedAt: time.Now().UTC().Format(time.RFC3339Nano)}
	if o.j.generate {
		c.Response = &text
	} else {
		c.Message = &ollamaMessage{Role: "assistant", Content: text}
	}
	return c
}

func (o *output) ollamaLine(c ollamaChunk) {
	b, _ := json.Marshal(c)
	o.w.Write(append(b, '\n'))
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

// ollamaFinish ends a reply: the rest of the text, then (or, not streamed, with it) the done line.
func (o *output) ollamaFinish(text, reason string, u usage, res *infer.Result) {
	var final ollamaChunk
	if o.j.stream {
		if rest := text[min(o.sent, len(text)):]; rest != "" {
			o.ollamaStream(rest)
		}
		final = o.ollamaChunk("")
	} else {
		final = o.ollamaChunk(text)
	}
	final.Done, final.DoneReason = true, reason
	final.PromptEvalCount, final.EvalCount = u.PromptTokens, u.CompletionTokens
	final.PromptEvalDuration, final.EvalDuration = res.PromptTime.Nanoseconds(), res.GenTime.Nanoseconds()
	final.TotalDuration = (res.PromptTime + res.GenTime).Nanoseconds()
	if !o.started {
		writeJSON(o.w, http.StatusOK, final)
		return
	}
	o.ollamaLine(final)
}

// isOllamaPath tells the API whose error style a request gets.
func isOllamaPath(path string) bool { return strings.HasPrefix(path, "/api/") }
