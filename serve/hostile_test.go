package serve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHugePromptRefusedBeforeEncoding: a 7.9 MB prompt (1.2 GB and 3.4 s when it was tokenized first, 5.8
// GB for six at once) is refused from its byte count, cheaply, alone and six at a time. The memory bound
// is loose for CI (the body itself is decoded once per request); the note gives measured figures.
func TestHugePromptRefusedBeforeEncoding(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Queue: 4, Ctx: 256, MaxBody: 16 << 20})
	content := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 180000) // 8.1 MB
	body := `{"model":"tiny","messages":[{"role":"user","content":"` + content + `"}]}`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	var wg sync.WaitGroup
	statuses := make([]string, 6)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, out := post(t, ts.URL+"/v1/chat/completions", body)
			statuses[i] = fmt.Sprintf("%d %s", resp.StatusCode, errMessage(out))
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	for _, s := range statuses {
		if !strings.HasPrefix(s, "400 the prompt is longer than 255 tokens") {
			t.Errorf("huge prompt answered %q, want 400 context_length_exceeded", s)
		}
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 600<<20 {
		t.Errorf("six 8 MB prompts allocated %d MB in the server and client, want under 600", alloc>>20)
	}
	if elapsed > 20*time.Second {
		t.Errorf("refusing six huge prompts took %v", elapsed)
	}
	t.Logf("six 8 MB prompts refused in %v, %d MB allocated", elapsed, (after.TotalAlloc-before.TotalAlloc)>>20)
}

// TestRequestValidation: values outside their ranges, trailing data and wrong types are 400s that name
// the field in the user's terms; max_tokens larger than the context is capped, not an endless reply.
func TestRequestValidation(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Queue: 2, Ctx: 48})
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		path, body, msg string
	}{
		{"chat", `{` + msgs + `,"max_tokens":-5}`, "max_tokens must be at least 1"},
		{"chat", `{` + msgs + `,"max_tokens":0}`, "max_tokens must be at least 1"},
		{"chat", `{` + msgs + `,"max_completion_tokens":0}`, "max_tokens must be at least 1"},
		{"completions", `{"prompt":"hi","max_tokens":-1}`, "max_tokens must be at least 1"},
		{"chat", `{` + msgs + `,"temperature":2.5}`, "temperature must be between 0 and 2"},
		{"chat", `{` + msgs + `,"temperature":-1}`, "temperature must be between 0 and 2"},
		{"completions", `{"prompt":"hi","temperature":9}`, "temperature must be between 0 and 2"},
		{"chat", `{` + msgs + `,"top_p":0}`, "top_p must be greater than 0"},
		{"chat", `{` + msgs + `,"top_p":5}`, "top_p must be greater than 0"},
		{"chat", `{` + msgs + `,"n":2}`, "n must be 1"},
		{"chat", `{` + msgs + `,"response_format":{"type":"json_schema"}}`, `response_format type "json_schema" is not supported`},
		{"chat", `{` + msgs + `}{"model":"x"}`, "data after the JSON value"},
		{"chat", `{` + msgs + `} trailing`, "data after the JSON value"},
		{"chat", `{` + msgs + `,"temperature":"hot"}`, "temperature: got a JSON string, want a number"},
		{"chat", `{"messages":"hi"}`, "messages: got a JSON string, want a list"},
		{"chat", ``, "the request body is empty"},
	}
	for _, c := range cases {
		url := ts.URL + "/v1/chat/completions"
		if c.path == "completions" {
			url = ts.URL + "/v1/completions"
		}
		resp, out := post(t, url, c.body)
		msg := errMessage(out)
		if resp.StatusCode != 400 || !strings.Contains(msg, c.msg) || strings.Contains(msg, "Go ") || strings.Contains(msg, "chatRequest") {
			t.Errorf("%s %s: %d %q, want 400 with %q and no Go type names", c.path, c.body, resp.StatusCode, msg, c.msg)
		}
	}
	// Accepted at the edges of the ranges.
	for _, body := range []string{`{` + msgs + `,"temperature":0,"top_p":1,"n":1,"max_tokens":2,"response_format":{"type":"text"}}`,
		`{` + msgs + `,"temperature":2,"max_tokens":1}`} {
		if resp, out := post(t, ts.URL+"/v1/chat/completions", body); resp.StatusCode != 200 {
			t.Errorf("%s: %d %v", body, resp.StatusCode, out)
		}
	}
	// max_tokens past the context is capped at what is left of it.
	resp, out := post(t, ts.URL+"/v1/chat/completions", `{`+msgs+`,"temperature":1,"seed":3,"max_tokens":100000}`)
	u, _ := out["usage"].(map[string]any)
	if resp.StatusCode != 200 || u == nil || u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) > 48 {
		t.Errorf("max_tokens 100000 in a 48-token context: %d %v", resp.StatusCode, out)
	}
}

// TestHealthWithoutKey: /health answers a locked server's probes; everything else needs the key.
func TestHealthWithoutKey(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, APIKey: "secret"})
	for path, want := range map[string]int{"/health": 200, "/v1/models": 401} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without a key: %d, want %d", path, resp.StatusCode, want)
		}
		// On the CPU backend there is no VRAM to report: null, not zero.
		if path == "/health" && !strings.Contains(string(body), `"backend":"cpu","vram":null`) {
			t.Errorf("GET /health: %s; want the backend and a null vram", body)
		}
	}
	for _, key := range []string{"Bearer secre", "Bearer secrets", "secret", "Bearer  secret"} {
		resp, out := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, "Authorization", key)
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d %v, want 401", key, resp.StatusCode, out)
		}
	}
}

// TestSlowBodyTimesOut: a client that sends its headers and then trickles (or stops sending) its body
// gets 408 after the body timeout and loses the connection, instead of holding it forever.
func TestSlowBodyTimesOut(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	srv, err := New(Config{Model: m, Name: "tiny", Ctx: 64, Parallel: 1, BodyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = srv.HTTPServer(time.Second)
	ts.Start()
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mess")
	go func() { // a byte every 100 ms: never finishes in time
		for range 50 {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a trickled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Errorf("trickled body: %d after %v, want 408 after about 300 ms", resp.StatusCode, time.Since(start))
	}
}

// TestIdleAndConnectionLimits: idle keep-alive connections are closed after the idle timeout, and the
// listener serves at most n connections at once; the next waits until one closes.
func TestIdleAndConnectionLimits(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	srv, err := New(Config{Model: m, Name: "tiny", Ctx: 64, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer(300 * time.Millisecond)
	go func() { _ = hs.Serve(LimitListener(raw, 2)) }()
	defer hs.Close()
	addr := raw.Addr().String()
	health := func(c net.Conn) error {
		if _, err := fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	}
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := health(c); err != nil {
			t.Fatalf("a connection under the limit: %v", err)
		}
		conns = append(conns, c)
	}
	third, err := net.Dial("tcp", addr) // the kernel accepts it; the server does not serve it yet
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	fmt.Fprintf(third, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	_ = third.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if _, err := third.Read(make([]byte, 1)); err == nil {
		t.Fatal("a third connection was served while two were open under a limit of 2")
	}
	// The idle timeout closes the first two; then the third is served.
	buf := make([]byte, 1)
	_ = conns[0].SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := conns[0].Read(buf); err != io.EOF {
		t.Errorf("an idle connection was not closed by the server: %v", err)
	}
	_ = third.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the waiting connection was not served after the others closed: %v", err)
	}
	resp.Body.Close()
}
