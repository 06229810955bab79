package serve

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/glmtool/glmtool/arch"
	"github.com/glmtool/glmtool/convert"
	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/tokenizer"
)

func loadFixture(t *testing.T, name string) *infer.Model {
	t.Helper()
	out := filepath.Join(t.TempDir(), name+".gguf")
	if _, err := convert.Checkpoint(context.Background(), filepath.Join(testenv.TestData(t), "hf", name), out, convert.Options{OutType: "f32", Threads: 2}); err != nil {
		t.Fatal(err)
	}
	m, err := infer.Load(out, infer.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func startServer(t *testing.T, m *infer.Model, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	cfg.Model, cfg.Name = m, "tiny"
	if cfg.Ctx == 0 {
		cfg.Ctx = 256
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts
}

func client(ts *httptest.Server, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// TestOpenAIClient drives the server with the official OpenAI Go client: plain and streamed chat (the same
// greedy text), a seeded sample twice, and the model list.
func TestOpenAIClient(t *testing.T) {
	for _, name := range []string{"glm-4-9b-chat-tiny", "chatglm3-6b-tiny"} {
		t.Run(name, func(t *testing.T) {
			m := loadFixture(t, name)
			_, ts := startServer(t, m, Config{Parallel: 2, Queue: 8, APIKey: "k"})
			c := client(ts, "k")
			ctx := context.Background()
			params := openai.ChatCompletionNewParams{Model: shared.ChatModel("tiny"), Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage("You are terse."), openai.UserMessage("你好")},
				MaxTokens: openai.Int(12), Temperature: openai.Float(0)}
			res, err := c.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Choices) != 1 || res.Choices[0].Message.Content == "" || res.Usage.CompletionTokens == 0 || res.Usage.PromptTokens == 0 {
				t.Fatalf("response %+v", res)
			}
			stream := c.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if got := acc.Choices[0].Message.Content; got != res.Choices[0].Message.Content {
				t.Errorf("streamed %q, plain %q", got, res.Choices[0].Message.Content)
			}
			// Greedy output through the server equals the runtime's (what glmtool run prints).
			tok := m.Tok
			ids, _ := tok.ChatPrompt([]tokenizer.Message{{Role: "system", Content: "You are terse."}, {Role: "user", Content: "你好"}})
			sess, _ := m.NewSession(256, infer.KVF16)
			gen, err := sess.Generate(ctx, ids, infer.GenerateOptions{MaxTokens: 12, Stops: m.Stops, Sampler: infer.NewSampler(infer.SamplerOptions{})})
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.TrimPrefix(tok.Decode(gen.Generated), "\n"); want != res.Choices[0].Message.Content || int64(len(gen.Generated)) != res.Usage.CompletionTokens {
				t.Errorf("server %q (%d tokens), runtime %q (%d tokens)", res.Choices[0].Message.Content, res.Usage.CompletionTokens, want, len(gen.Generated))
			}
			seeded := params
			seeded.Temperature, seeded.Seed = openai.Float(0.9), openai.Int(7)
			a, err1 := c.Chat.Completions.New(ctx, seeded)
			b, err2 := c.Chat.Completions.New(ctx, seeded)
			if err1 != nil || err2 != nil || a.Choices[0].Message.Content != b.Choices[0].Message.Content {
				t.Errorf("seeded sampling differs: %v %v", err1, err2)
			}
			models, err := c.Models.List(ctx)
			if err != nil || len(models.Data) != 1 || models.Data[0].ID != "tiny" {
				t.Errorf("models %+v, %v", models, err)
			}
		})
	}
}

// TestToolCalls: tools and tool results go into the ChatGLM3 / GLM-4 prompt, and the models' tool-call
// output comes back as OpenAI tool_calls with JSON arguments.
func TestToolCalls(t *testing.T) {
	cases := []struct {
		fam   arch.Family
		reply string
	}{
		{arch.FamilyChatGLM3, "get_weather\n```python\ntool_call(city='北京', days=3, metric=True)\n```"},
		{arch.FamilyGLM4, "get_weather\n{\"city\": \"北京\", \"days\": 3, \"metric\": true}"},
	}
	for _, c := range cases {
		name, args, ok := parseToolCall(c.fam, c.reply)
		var got map[string]any
		_ = json.Unmarshal([]byte(args), &got)
		if !ok || name != "get_weather" || got["city"] != "北京" || got["days"] != 3.0 || got["metric"] != true {
			t.Errorf("%s: parsed %q %s %v", c.fam, name, args, ok)
		}
		if _, _, ok := parseToolCall(c.fam, "\n你好，我是助手。"); ok {
			t.Errorf("%s: plain text read as a tool call", c.fam)
		}
		// The arguments written back into the history parse again to the same call.
		back := toolCallContent(c.fam, args)
		if n2, a2, ok := parseToolCall(c.fam, "get_weather\n"+back); !ok || n2 != name || a2 != args {
			t.Errorf("%s: history form %q does not round-trip (%q %q %v)", c.fam, back, n2, a2, ok)
		}
	}
	for _, name := range []string{"chatglm3-6b-tiny", "glm-4-9b-chat-tiny"} {
		m := loadFixture(t, name)
		_, ts := startServer(t, m, Config{Parallel: 1, Queue: 4})
		body := `{"model":"tiny","max_tokens":4,"temperature":0,"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],
			"messages":[{"role":"user","content":"北京天气"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"北京\"}"}}]},
			{"role":"tool","tool_call_id":"c1","content":"晴"}]}`
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 200 || out["choices"] == nil {
			t.Errorf("%s: status %d %v", name, resp.StatusCode, out)
		}
		msgs, err := toMessages(m.Params.Family, []chatMessage{{Role: "tool", Content: json.RawMessage(`"晴"`)}}, nil)
		if err != nil || msgs[0].Role != "observation" {
			t.Errorf("tool results must become observation turns: %v %v", msgs, err)
		}
	}
	m := loadFixture(t, "chatglm2-6b-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Queue: 4})
	resp, _ := http.Post(ts.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}]}`))
	if resp.StatusCode != 400 {
		t.Errorf("tools on ChatGLM2: status %d, want 400", resp.StatusCode)
	}
	resp.Body.Close()
}

func post(t *testing.T, url, body string, header ...string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func errMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

func TestErrors(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Queue: 0, Ctx: 64, MaxBody: 4096, APIKey: "k"})
	url := ts.URL + "/v1/chat/completions"
	auth := []string{"Authorization", "Bearer k"}
	long := strings.Repeat("你好", 200)
	cases := []struct {
		body   string
		header []string
		status int
		msg    string
	}{
		{`{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`, nil, 401, "API key"},
		{`{"model":"tiny","messages":[`, auth, 400, "malformed JSON"},
		{`{"model":"tiny","messages":[{"role":"user","content":"` + long + `"}]}`, auth, 400, "the context holds 64"},
		{`{"model":"tiny","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, auth, 413, "larger than 4096 bytes"},
		{`{"model":"tiny","messages":[{"role":"wizard","content":"hi"}]}`, auth, 400, `unknown message role "wizard"`},
		{`{"model":"tiny","messages":[]}`, auth, 400, "messages is empty"},
	}
	for _, c := range cases {
		resp, out := post(t, url, c.body, c.header...)
		if resp.StatusCode != c.status || !strings.Contains(errMessage(out), c.msg) {
			t.Errorf("status %d %q, want %d with %q", resp.StatusCode, errMessage(out), c.status, c.msg)
		}
	}
	for _, path := range []string{"/health", "/v1/models"} {
		req, _ := http.NewRequest("GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	resp, out := post(t, ts.URL+"/v1/completions", `{"model":"tiny","prompt":"hello","max_tokens":3,"temperature":0}`, auth...)
	if resp.StatusCode != 200 || out["object"] != "text_completion" {
		t.Errorf("completions: %d %v", resp.StatusCode, out)
	}
}

// streamRequest starts a streaming chat and returns the response.
func streamRequest(ctx context.Context, url string, maxTokens int) (*http.Response, error) {
	body := `{"model":"tiny","stream":true,"temperature":0,"max_tokens":` + itoa(maxTokens) + `,"messages":[{"role":"user","content":"你好"}]}`
	req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return http.DefaultClient.Do(req)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestLoad: 64 concurrent streaming requests against 4 slots all complete with [DONE], a full queue
// answers 503, no goroutine is left behind, and a client that disconnects frees its slot within 100 ms.
func TestLoad(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	srv, ts := startServer(t, m, Config{Parallel: 4, Queue: 64, Ctx: 128})
	url := ts.URL + "/v1/chat/completions"
	before := runtime.NumGoroutine()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapInuse
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := streamRequest(context.Background(), url, 4+i%4)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			done := false
			for sc.Scan() {
				if sc.Text() == "data: [DONE]" {
					done = true
				}
			}
			if resp.StatusCode != 200 || !done {
				errs <- "stream did not finish with [DONE]: status " + resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if srv.FreeSlots() != 4 {
		t.Errorf("%d of 4 slots free after the load", srv.FreeSlots())
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grew := int64(ms.HeapInuse) - int64(heapBefore); grew > 64<<20 {
		t.Errorf("the heap grew by %d MB over the load", grew>>20)
	}

	// A disconnecting client frees its slot at once.
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := streamRequest(ctx, url, 10000)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	if !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q", line)
	}
	if srv.FreeSlots() != 3 {
		t.Fatalf("%d slots free during a stream, want 3", srv.FreeSlots())
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(100 * time.Millisecond)
	for srv.FreeSlots() != 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if srv.FreeSlots() != 4 {
		t.Errorf("the slot was not freed within 100 ms of the disconnect")
	}

	// A full queue: 1 slot, no queue, one long request in flight → the next gets 503 with Retry-After.
	srv1, ts1 := startServer(t, m, Config{Parallel: 1, Queue: 0, Ctx: 128})
	ctx2, cancel2 := context.WithCancel(context.Background())
	busy, err := streamRequest(ctx2, ts1.URL+"/v1/chat/completions", 10000)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = bufio.NewReader(busy.Body).ReadString('\n')
	r503, _ := post(t, ts1.URL+"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"hi"}]}`)
	if r503.StatusCode != 503 || r503.Header.Get("Retry-After") == "" {
		t.Errorf("full queue: status %d, Retry-After %q", r503.StatusCode, r503.Header.Get("Retry-After"))
	}
	cancel2()
	busy.Body.Close()
	for i := 0; i < 100 && srv1.FreeSlots() != 1; i++ {
		time.Sleep(time.Millisecond)
	}
	ts.CloseClientConnections()
	ts1.CloseClientConnections()
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+4 {
		t.Errorf("goroutines: %d before the load, %d after", before, after)
	}
}

// TestToolCallWireFormat feeds model replies in each family's tool-call form through the response writer
// and reads the result with the OpenAI client's own types: tool_calls with JSON arguments and
// finish_reason "tool_calls", streamed or not.
func TestToolCallWireFormat(t *testing.T) {
	for _, c := range []struct {
		name, reply string
	}{
		{"chatglm3-6b-tiny", "\nget_weather\n```python\ntool_call(city='北京')\n```"[1:]},
		{"glm-4-9b-chat-tiny", "get_weather\n{\"city\": \"北京\"}"},
	} {
		m := loadFixture(t, c.name)
		srv, err := New(Config{Model: m, Name: "tiny", Ctx: 64, Parallel: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, stream := range []bool{false, true} {
			rec := httptest.NewRecorder()
			o := newOutput(srv, rec, job{chat: true, tools: true, stream: stream})
			o.add(c.reply)
			o.finish("stop", usage{PromptTokens: 5, CompletionTokens: 7, TotalTokens: 12}, &infer.Result{})
			var call openai.ChatCompletionMessageToolCallUnion
			var finish string
			if !stream {
				var res openai.ChatCompletion
				if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
					t.Fatal(err)
				}
				call, finish = res.Choices[0].Message.ToolCalls[0], res.Choices[0].FinishReason
			} else {
				var acc openai.ChatCompletionAccumulator
				for _, line := range strings.Split(rec.Body.String(), "\n") {
					data, ok := strings.CutPrefix(line, "data: ")
					if !ok || data == "[DONE]" {
						continue
					}
					var chunk openai.ChatCompletionChunk
					if err := json.Unmarshal([]byte(data), &chunk); err != nil {
						t.Fatal(err)
					}
					acc.AddChunk(chunk)
				}
				call, finish = acc.Choices[0].Message.ToolCalls[0], acc.Choices[0].FinishReason
			}
			if call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"北京"}` || finish != "tool_calls" || call.ID == "" {
				t.Errorf("%s stream=%v: %+v finish %q", c.name, stream, call.Function, finish)
			}
		}
	}
}

// TestPanicRecovered: a panic in a handler becomes a 500 error object, and the server keeps serving.
func TestPanicRecovered(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	srv, err := New(Config{Model: m, Name: "tiny", Ctx: 64, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "internal error") {
		t.Errorf("status %d body %s", rec.Code, rec.Body.String())
	}
}
