package cmd

import (
	"context"
	"net"
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

// TestServeWarnsWhenExposed: a server reachable from other machines without --api-key says so on stderr;
// loopback, or a key, is quiet.
func TestServeWarnsWhenExposed(t *testing.T) {
	cases := []struct {
		addr net.Addr
		key  string
		warn bool
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "", true},
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 8080}, "", true},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "secret", false},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "", false},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8080}, "", false},
	}
	for _, c := range cases {
		var out strings.Builder
		a := &app{stdout: &out, stderr: &out}
		a.warnIfExposed(c.addr, c.key)
		if got := strings.Contains(out.String(), "warning: listening on"); got != c.warn {
			t.Errorf("%v with key %q: warned %v, want %v (%q)", c.addr, c.key, got, c.warn, out.String())
		}
	}
}
