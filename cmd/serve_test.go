package cmd

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeCommand starts the real server on a loopback port, checks /health, then cancels the context
// as SIGTERM does: the server shuts down gracefully and the command exits 0.
func TestServeCommand(t *testing.T) {
	model := convertF32(t, "chatglm3-6b-tiny")
	out := &lockedBuffer{}
	a := &app{stdout: out, stderr: out, stdin: strings.NewReader("")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"serve", "-m", model, "--addr", "127.0.0.1:0", "--ctx", "128"}) }()
	re := regexp.MustCompile(`listening on (http://127\.0\.0\.1:\d+)`)
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		cancel()
		t.Fatalf("the server did not start: %s", out.String())
	}
	resp, err := http.Get(base + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(base+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"`+strings.TrimSuffix(model[strings.LastIndex(model, "/")+1:], ".gguf")+`","max_tokens":3,"messages":[{"role":"user","content":"你好"}]}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("chat: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("exit %d after a graceful shutdown: %s", code, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the server did not shut down")
	}
	if !strings.Contains(out.String(), `"msg":"request"`) || !strings.Contains(out.String(), `"status":200`) {
		t.Errorf("no request log lines: %s", out.String())
	}
}
