package serve

import (
	"encoding/json"
	"fmt"
)

// chatRequest is the subset of OpenAI's chat completion request glmtool honours.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	Temperature         *float32        `json:"temperature"`
	TopP                *float32        `json:"top_p"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Stop                json.RawMessage `json:"stop"`
	Seed                *uint64         `json:"seed"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools          []tool          `json:"tools"`
	N              *int            `json:"n"`
	ResponseFormat *responseFormat `json:"response_format"`
	CachePrompt    *bool           `json:"cache_prompt"` // llama-server's: false evaluates the whole prompt again
}

type responseFormat struct {
	Type string `json:"type"`
}

func (r *chatRequest) sampling(maxTokens *int) sampling {
	return sampling{temperature: r.Temperature, topP: r.TopP, maxTokens: maxTokens, n: r.N, format: r.ResponseFormat}
}

type completionRequest struct {
	Model       string          `json:"model"`
	Prompt      json.RawMessage `json:"prompt"`
	Temperature *float32        `json:"temperature"`
	TopP        *float32        `json:"top_p"`
	MaxTokens   *int            `json:"max_tokens"`
	Stop        json.RawMessage `json:"stop"`
	Seed        *uint64         `json:"seed"`
	Stream      bool            `json:"stream"`
	N           *int            `json:"n"`
	CachePrompt *bool           `json:"cache_prompt"`
}

func (r *completionRequest) sampling() sampling {
	return sampling{temperature: r.Temperature, topP: r.TopP, maxTokens: r.MaxTokens, n: r.N}
}

// sampling holds the request fields that are checked against their ranges before any work is done.
type sampling struct {
	temperature, topP *float32
	maxTokens, n      *int
	format            *responseFormat
}

// validate names the first field outside its range (OpenAI's documented ones).
func (p sampling) validate() error {
	switch {
	case p.temperature != nil && !(*p.temperature >= 0 && *p.temperature <= 2):
		return fmt.Errorf("temperature must be between 0 and 2, got %v", *p.temperature)
	case p.topP != nil && !(*p.topP > 0 && *p.topP <= 1):
		return fmt.Errorf("top_p must be greater than 0 and at most 1, got %v", *p.topP)
	case p.maxTokens != nil && *p.maxTokens < 1:
		return fmt.Errorf("max_tokens must be at least 1, got %d (leave it out to fill the context)", *p.maxTokens)
	case p.n != nil && *p.n != 1:
		return fmt.Errorf("n must be 1, got %d: this server returns one choice per request", *p.n)
	case p.format != nil && p.format.Type != "text":
		return fmt.Errorf("response_format type %q is not supported (only \"text\": constrained output is not implemented)", p.format.Type)
	}
	return nil
}

type chatMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []toolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	Name       string          `json:"name,omitempty"`
}

type tool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters,omitempty"`
	} `json:"function"`
}

type toolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// text reads a message content that is a string or an array of {type:"text", text} parts.
func (m chatMessage) text() (string, error) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", fmt.Errorf("message content must be a string or an array of text parts")
	}
	out := ""
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content part type %q is not supported (only text)", p.Type)
		}
		out += p.Text
	}
	return out, nil
}

// stops reads "stop": a string or a list of strings.
func stops(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("stop must be a string or a list of strings")
	}
	return many, nil
}

type usage struct {
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	TotalTokens      int            `json:"total_tokens"`
	PromptDetails    *promptDetails `json:"prompt_tokens_details,omitempty"`
}

// promptDetails says how much of the prompt came from the slot's cache instead of being evaluated.
type promptDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type apiError struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

// The response bodies, as OpenAI's API defines them. A nil pointer is JSON null where the API has one
// (finish_reason while streaming, content beside tool calls).

type completionChoice struct {
	Index        int     `json:"index"`
	Text         string  `json:"text"`
	FinishReason *string `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"` // text_completion
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

type replyMessage struct {
	Role      string     `json:"role"`
	Content   *string    `json:"content"`
	ToolCalls []toolCall `json:"tool_calls,omitempty"`
}

// indexedToolCall is a tool call in a streamed delta, which carries its position.
type indexedToolCall struct {
	Index int `json:"index"`
	toolCall
}

type chatDelta struct {
	Role      string            `json:"role,omitempty"`
	Content   string            `json:"content,omitempty"`
	ToolCalls []indexedToolCall `json:"tool_calls,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      *replyMessage `json:"message,omitempty"`
	Delta        *chatDelta    `json:"delta,omitempty"`
	FinishReason *string       `json:"finish_reason"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"` // chat.completion, or chat.completion.chunk when streamed
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *usage       `json:"usage,omitempty"`
}

type healthResponse struct {
	Status    string `json:"status"`
	SlotsIdle int    `json:"slots_idle"`
	Slots     int    `json:"slots"`
	Backend   string `json:"backend"`
	// VRAM: what the model holds in GPU memory and the device's free and total memory now, measured by
	// the driver (null on the CPU).
	VRAM *vramInfo `json:"vram"`
}

type vramInfo struct {
	HeldBytes  int64  `json:"held_bytes"`
	FreeBytes  uint64 `json:"free_bytes"`
	TotalBytes uint64 `json:"total_bytes"`
}

type modelInfo struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // model
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string      `json:"object"` // list
	Data   []modelInfo `json:"data"`
}
