// Package serve is glmtool's HTTP server. It speaks OpenAI's API (chat and text completions, streamed over
// SSE or not, the model list, with ChatGLM3/GLM-4 tool calls mapped to and from OpenAI's format), ollama's
// (chat, generate, tags, show, ps, version; NDJSON streams) and llama-server's extras (/tokenize,
// /detokenize, Prometheus /metrics), with a health check. Requests share one loaded model through
// --parallel slots, each with its own KV cache, which keeps the last request's tokens so that a follow-up
// turn evaluates only what is new; the decode steps and prompt chunks of concurrent requests run as shared
// passes over the weights (batch.go), and a bounded queue answers 503 when full. Untrusted requests are bounded before any work (docs/LIMITS.md).
package serve
