package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// ndjson posts body and decodes every line of the reply.
func ndjson(t *testing.T, url, body string) (int, string, []map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a line that is not JSON: %q", sc.Text())
		}
		lines = append(lines, m)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), lines
}

// TestOllamaAPI checks ollama's wire format (docs/api.md): chat and generate, streamed (NDJSON, the
// default) and not, give the same greedy text as /v1/chat/completions; tags, ps, show and version
// describe the served model; bad input is a 4xx {"error": ...}.
func TestOllamaAPI(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Ctx: 128, FileType: "F32", Version: "test"})
	resp, out := post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"你好"}],"temperature":0,"max_tokens":6}`)
	if resp.StatusCode != 200 {
		t.Fatalf("openai: %d", resp.StatusCode)
	}
	want := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	opts := `"options":{"temperature":0,"num_predict":6}`
	code, ctype, lines := ndjson(t, ts.URL+"/api/chat", `{"model":"anything","messages":[{"role":"user","content":"你好"}],`+opts+`}`)
	var got strings.Builder
	for _, l := range lines {
		got.WriteString(l["message"].(map[string]any)["content"].(string))
	}
	last := lines[len(lines)-1]
	if code != 200 || ctype != "application/x-ndjson" || len(lines) < 2 || got.String() != want || last["done"] != true ||
		last["done_reason"] != "length" || last["eval_count"].(float64) != 6 || last["model"] != "tiny:latest" {
		t.Errorf("/api/chat streamed: %d %s %q (want %q), last %v", code, ctype, got.String(), want, last)
	}
	code, _, lines = ndjson(t, ts.URL+"/api/chat", `{"model":"x","stream":false,"messages":[{"role":"user","content":"你好"}],`+opts+`}`)
	if code != 200 || len(lines) != 1 || lines[0]["message"].(map[string]any)["content"] != want || lines[0]["done"] != true {
		t.Errorf("/api/chat not streamed: %d %v", code, lines)
	}
	for _, stream := range []string{"true", "false"} {
		code, _, lines = ndjson(t, ts.URL+"/api/generate", `{"model":"x","prompt":"你好","stream":`+stream+`,`+opts+`}`)
		var text strings.Builder
		for _, l := range lines {
			text.WriteString(l["response"].(string))
		}
		if code != 200 || text.String() != want || lines[len(lines)-1]["done"] != true {
			t.Errorf("/api/generate stream %s: %d %q, want %q", stream, code, text.String(), want)
		}
	}
	for path, check := range map[string]func(map[string]any) bool{
		"/api/version": func(m map[string]any) bool { return m["version"] == "test" },
		"/api/tags": func(m map[string]any) bool {
			x := m["models"].([]any)[0].(map[string]any)
			d := x["details"].(map[string]any)
			return x["name"] == "tiny:latest" && x["size"].(float64) > 0 && d["quantization_level"] == "F32" && d["family"] == "glm4" && d["format"] == "gguf"
		},
		"/api/ps": func(m map[string]any) bool {
			x := m["models"].([]any)[0].(map[string]any)
			return x["size_vram"] == 0.0 && x["name"] == "tiny:latest"
		},
	} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 || !check(m) {
			t.Errorf("GET %s: %d %v", path, resp.StatusCode, m)
		}
	}
	resp, out = post(t, ts.URL+"/api/show", `{"model":"tiny"}`)
	if info, _ := out["model_info"].(map[string]any); resp.StatusCode != 200 || info["general.architecture"] != "chatglm" || out["template"] == "" {
		t.Errorf("/api/show: %d %v", resp.StatusCode, out)
	}
	for _, c := range []struct{ path, body, msg string }{
		{"/api/chat", `{"messages":[{"role":"user","content":"hi"}],"format":"json"}`, "format"},
		{"/api/chat", `{"messages":[`, "malformed JSON"},
		{"/api/chat", `{"messages":[]}`, "messages is empty"},
		{"/api/chat", `{"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":-5}}`, "options.num_predict -5"},
		{"/api/chat", `{"messages":[{"role":"user","content":"hi"}],"options":{"temperature":7}}`, "options.temperature must be between 0 and 2"},
		{"/api/chat", `{"messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":100000}}`, "options.num_ctx 100000"},
		{"/api/generate", `{"prompt":"` + strings.Repeat("x", 100000) + `"}`, "longer than"},
		{"/api/nothing", `{}`, "no endpoint"},
	} {
		resp, out := post(t, ts.URL+c.path, c.body)
		msg, _ := out["error"].(string)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || !strings.Contains(msg, c.msg) {
			t.Errorf("%s %.60s: %d %v, want a 4xx {\"error\"} with %q", c.path, c.body, resp.StatusCode, out, c.msg)
		}
	}
}

// TestMetrics: /metrics is Prometheus text: every sample line parses, requests are counted by path and
// status, tokens and cache hits add up.
func TestMetrics(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	_, ts := startServer(t, m, Config{Parallel: 1, Ctx: 128})
	body := `{"messages":[{"role":"user","content":"你好"}],"temperature":0,"max_tokens":3}`
	post(t, ts.URL+"/v1/chat/completions", body)
	post(t, ts.URL+"/v1/chat/completions", body) // the same prompt again: cached
	post(t, ts.URL+"/v1/chat/completions", `{"messages":[`)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	values := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		var v float64
		if _, err := fmt.Sscan(val, &v); !ok || err != nil {
			t.Fatalf("not a sample line: %q", line)
		}
		values[name] = v
	}
	for name, want := range map[string]float64{
		`glmtool_requests_total{path="/v1/chat/completions",status="200"}`: 2,
		`glmtool_requests_total{path="/v1/chat/completions",status="400"}`: 1,
		"glmtool_tokens_predicted_total":                                   6,
		"glmtool_slots":                                                    1,
		"glmtool_requests_processing":                                      0,
	} {
		if values[name] != want {
			t.Errorf("%s = %v, want %v", name, values[name], want)
		}
	}
	if values["glmtool_prompt_tokens_cached_total"] == 0 || values["glmtool_prompt_tokens_total"] == 0 {
		t.Errorf("prompt token counters: %v", values)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
}
