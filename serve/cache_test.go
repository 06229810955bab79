package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

type chatResult struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	Usage struct {
		PromptTokens  int `json:"prompt_tokens"`
		PromptDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
}

func chatOnce(t *testing.T, url string, msgs []map[string]string, extra string) chatResult {
	t.Helper()
	m, _ := json.Marshal(msgs)
	resp, out := post(t, url, fmt.Sprintf(`{"messages":%s,"temperature":0,"max_tokens":6%s}`, m, extra))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	raw, _ := json.Marshal(out)
	var r chatResult
	_ = json.Unmarshal(raw, &r)
	return r
}

// TestPromptCache: a follow-up turn reuses the prefix its slot already holds (reported as cached_tokens)
// and answers exactly as an uncached evaluation does; with two slots, each conversation finds its own.
func TestPromptCache(t *testing.T) {
	for _, name := range []string{"glm-4-9b-chat-tiny", "chatglm3-6b-tiny"} {
		t.Run(name, func(t *testing.T) {
			m := loadFixture(t, name)
			_, ts := startServer(t, m, Config{Parallel: 2, Queue: 4, Ctx: 256})
			url := ts.URL + "/v1/chat/completions"
			a := []map[string]string{{"role": "user", "content": "你好，请介绍一下你自己"}}
			b := []map[string]string{{"role": "user", "content": "What is the capital of France? Answer briefly."}}
			ra := chatOnce(t, url, a, "")
			if ra.Usage.PromptDetails.CachedTokens != 0 {
				t.Errorf("a first request had %d cached tokens", ra.Usage.PromptDetails.CachedTokens)
			}
			rb := chatOnce(t, url, b, "")
			a2 := append(a, map[string]string{"role": "assistant", "content": ra.Choices[0].Message.Content},
				map[string]string{"role": "user", "content": "再说一遍"})
			b2 := append(b, map[string]string{"role": "assistant", "content": rb.Choices[0].Message.Content},
				map[string]string{"role": "user", "content": "And of Italy?"})
			cases := []struct {
				next     []map[string]string
				firstLen int
				cached   chatResult
			}{{next: a2, firstLen: ra.Usage.PromptTokens}, {next: b2, firstLen: rb.Usage.PromptTokens}}
			// Both follow-ups first: each must find its own conversation's slot.
			for i := range cases {
				c := &cases[i]
				c.cached = chatOnce(t, url, c.next, "")
				if got := c.cached.Usage.PromptDetails.CachedTokens; got < c.firstLen || got >= c.cached.Usage.PromptTokens {
					t.Errorf("follow-up of a %d-token prompt: %d of %d tokens cached", c.firstLen, got, c.cached.Usage.PromptTokens)
				}
			}
			for _, c := range cases {
				cached := c.cached
				fresh := chatOnce(t, url, c.next, `,"cache_prompt":false`)
				if fresh.Usage.PromptDetails.CachedTokens != 0 {
					t.Errorf("cache_prompt false: %d tokens cached", fresh.Usage.PromptDetails.CachedTokens)
				}
				if cached.Choices[0].Message.Content != fresh.Choices[0].Message.Content {
					t.Errorf("cached %q, uncached %q: the cache changed the reply", cached.Choices[0].Message.Content, fresh.Choices[0].Message.Content)
				}
			}
			// A streamed reply reports the cache in its usage chunk too.
			m2, _ := json.Marshal(a2)
			resp, body := postRaw(t, url, fmt.Sprintf(`{"messages":%s,"temperature":0,"max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}`, m2))
			if resp != 200 || !strings.Contains(body, `"prompt_tokens_details":{"cached_tokens":`) {
				t.Errorf("streamed usage: %d %s", resp, body)
			}
		})
	}
}

// postRaw posts a JSON body and returns the status and the whole response body.
func postRaw(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestTokenizeEndpointsAndAnyModelName: llama-server's /tokenize and /detokenize round-trip through the
// model's tokenizer; a request naming any model is answered by the one served, which the response names.
func TestTokenizeEndpointsAndAnyModelName(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Ctx: 64})
	code, body := postRaw(t, ts.URL+"/tokenize", `{"content":"你好，世界"}`)
	var ids struct {
		Tokens []int32 `json:"tokens"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &ids) != nil || !slices.Equal(ids.Tokens, m.Tok.Encode("你好，世界")) {
		t.Fatalf("/tokenize: %d %s", code, body)
	}
	code, body = postRaw(t, ts.URL+"/tokenize", `{"content":"你好","add_special":true,"with_pieces":true}`)
	if code != 200 || !strings.Contains(body, `"piece":"[gMASK]"`) || !strings.Contains(body, `"piece":"你好"`) {
		t.Errorf("/tokenize with pieces: %d %s", code, body)
	}
	tokens, _ := json.Marshal(ids.Tokens)
	code, body = postRaw(t, ts.URL+"/detokenize", `{"tokens":`+string(tokens)+`}`)
	if code != 200 || !strings.Contains(body, `"content":"你好，世界"`) {
		t.Errorf("/detokenize: %d %s", code, body)
	}
	for _, bad := range []string{`{"tokens":[-1]}`, `{"tokens":[99999999]}`, `{"tokens":"x"}`} {
		if code, body := postRaw(t, ts.URL+"/detokenize", bad); code != 400 {
			t.Errorf("/detokenize %s: %d %s", bad, code, body)
		}
	}
	if code, body := postRaw(t, ts.URL+"/tokenize", `{"content":"`+strings.Repeat("x", 200000)+`"}`); code != 400 || !strings.Contains(body, "context_length_exceeded") {
		t.Errorf("/tokenize of a text longer than the context: %d %.200s", code, body)
	}
	code, body = postRaw(t, ts.URL+"/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"max_tokens":2}`)
	if code != 200 || !strings.Contains(body, `"model":"tiny"`) {
		t.Errorf("a request for gpt-4o: %d %s", code, body)
	}
}
