package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/glmtool/glmtool/infer"
)

// output turns generated text into an OpenAI response: one JSON object, or SSE chunks ending in
// "data: [DONE]". It applies stop strings (holding back text that could be the start of one) and, when the
// request offered tools, reads the reply as a tool call.
type output struct {
	s       *Server
	w       http.ResponseWriter
	j       job
	id      string
	created int64
	raw     strings.Builder // everything generated, up to a stop string
	sent    int             // bytes of the visible text already streamed
	stopped bool
	started bool
	hold    int
}

func newOutput(s *Server, w http.ResponseWriter, j job) *output {
	o := &output{s: s, w: w, j: j, created: time.Now().Unix(), id: s.id("chatcmpl")}
	if !j.chat {
		o.id = s.id("cmpl")
	}
	for _, st := range j.stop {
		o.hold = max(o.hold, len(st)-1)
	}
	return o
}

// visible is the reply text: ChatGLM3/GLM-4 replies open with their (empty) metadata line.
func (o *output) visible() string {
	t := o.raw.String()
	if o.j.chat && o.s.cfg.Model.Tok.SupportsRoles() {
		t = strings.TrimPrefix(t, "\n")
	}
	return t
}

// add takes newly decoded text; it returns false once a stop string ended the reply.
func (o *output) add(piece string) bool {
	if o.stopped {
		return false
	}
	o.raw.WriteString(piece)
	if i, ok := hasAny(o.raw.String(), o.j.stop); ok {
		t := o.raw.String()[:i]
		o.raw.Reset()
		o.raw.WriteString(t)
		o.stopped = true
	}
	if o.j.stream && !o.j.tools {
		v := o.visible()
		end := len(v)
		if !o.stopped {
			end = max(o.sent, end-o.hold)
		}
		if end > o.sent {
			if o.j.wire == wireOllama {
				o.ollamaStream(v[o.sent:end])
			} else {
				o.chunk(v[o.sent:end], nil, nil)
			}
			o.sent = end
		}
	}
	return !o.stopped
}

func (o *output) sse(v any) {
	if !o.started {
		h := o.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		o.w.WriteHeader(http.StatusOK)
		o.started = true
	}
	b, _ := json.Marshal(v)
	fmt.Fprintf(o.w, "data: %s\n\n", b)
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

// chunk streams text, tool calls or the finish reason.
func (o *output) chunk(text string, calls []toolCall, finish *string) {
	if !o.j.chat {
		o.sse(completionResponse{ID: o.id, Object: "text_completion", Created: o.created, Model: o.s.cfg.Name,
			Choices: []completionChoice{{Text: text, FinishReason: finish}}})
		return
	}
	delta := &chatDelta{Content: text}
	if !o.started {
		delta.Role = "assistant"
	}
	for i, c := range calls {
		delta.ToolCalls = append(delta.ToolCalls, indexedToolCall{i, c})
	}
	o.sse(o.chatResponse("chat.completion.chunk", chatChoice{Delta: delta, FinishReason: finish}))
}

// chatResponse is a chat response of one choice (or none, for the usage chunk).
func (o *output) chatResponse(object string, choices ...chatChoice) chatResponse {
	if choices == nil {
		choices = []chatChoice{} // "choices": [], not null
	}
	return chatResponse{ID: o.id, Object: object, Created: o.created, Model: o.s.cfg.Name, Choices: choices}
}

func (o *output) finish(reason string, u usage, res *infer.Result) {
	if o.stopped {
		reason = "stop"
	}
	text := o.visible()
	if o.j.wire == wireOllama {
		o.ollamaFinish(text, reason, u, res)
		return
	}
	var calls []toolCall
	if o.j.tools {
		if name, args, ok := parseToolCall(o.s.cfg.Model.Tok.Family, o.raw.String()); ok {
			var c toolCall
			c.ID, c.Type = o.s.id("call"), "function"
			c.Function.Name, c.Function.Arguments = name, args
			calls, text, reason = []toolCall{c}, "", "tool_calls"
		}
	}
	if !o.j.stream {
		if !o.j.chat {
			writeJSON(o.w, http.StatusOK, completionResponse{ID: o.id, Object: "text_completion", Created: o.created, Model: o.s.cfg.Name,
				Choices: []completionChoice{{Text: text, FinishReason: &reason}}, Usage: &u})
			return
		}
		msg := &replyMessage{Role: "assistant", Content: &text}
		if calls != nil {
			msg.Content, msg.ToolCalls = nil, calls
		}
		r := o.chatResponse("chat.completion", chatChoice{Message: msg, FinishReason: &reason})
		r.Usage = &u
		writeJSON(o.w, http.StatusOK, r)
		return
	}
	if o.j.tools {
		o.chunk(text, calls, nil)
	} else if rest := text[min(o.sent, len(text)):]; rest != "" {
		o.chunk(rest, nil, nil)
	}
	o.chunk("", nil, &reason)
	if o.j.usage {
		r := o.chatResponse("chat.completion.chunk")
		r.Usage = &u
		o.sse(r)
	}
	fmt.Fprint(o.w, "data: [DONE]\n\n")
	if f, ok := o.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (o *output) fail(err error) {
	if o.started && o.j.wire == wireOllama {
		b, _ := json.Marshal(ollamaError{Error: err.Error()})
		o.w.Write(append(b, '\n'))
		return
	}
	if o.started {
		var e apiError
		e.Error.Message, e.Error.Type = err.Error(), "server_error"
		o.sse(e)
		return
	}
	status := http.StatusInternalServerError
	if errors.Is(err, infer.ErrContextFull) {
		status = http.StatusBadRequest
	}
	writeError(o.w, status, "server_error", err.Error())
}
