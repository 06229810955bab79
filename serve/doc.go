// Package serve is glmtool's OpenAI-compatible HTTP server: chat and text completions (streamed over SSE
// or not), the model list and a health check, with ChatGLM3/GLM-4 tool calls mapped to and from OpenAI's
// format. Requests share one loaded model through --parallel slots, each with its own KV cache; decoding
// steps of concurrent requests interleave token by token, and a bounded queue answers 503 when full.
package serve
