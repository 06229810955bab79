package cuda_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/glmtool/glmtool/infer"
	"github.com/glmtool/glmtool/internal/testenv"
	"github.com/glmtool/glmtool/serve"
)

// TestServerOnCUDA: the server on the CUDA backend (prompt cache, continuous batching of four concurrent
// streams through DecodeBatch) answers every request with the greedy text the CPU backend's server gives,
// and /health reports the GPU memory it holds.
func TestServerOnCUDA(t *testing.T) {
	path := testenv.Path(t, "gguf", "chatglm3-tiny-Q8_0.gguf") // all Q8_0: the two backends round alike
	replies := func(m *infer.Model) ([]string, string) {
		srv, err := serve.New(serve.Config{Model: m, Name: "tiny", Ctx: 128, Parallel: 4, Queue: 8})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		defer ts.Close()
		out := make([]string, 8)
		var wg sync.WaitGroup
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"model":"tiny","messages":[{"role":"user","content":"question %d: 你好"}],"max_tokens":12,"temperature":0}`, i%5)
				resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				var r struct {
					Choices []struct {
						Message struct{ Content string } `json:"message"`
					} `json:"choices"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || len(r.Choices) != 1 {
					t.Errorf("request %d: %d %v", i, resp.StatusCode, err)
					return
				}
				out[i] = r.Choices[0].Message.Content
			}()
		}
		wg.Wait()
		resp, err := http.Get(ts.URL + "/health")
		if err != nil {
			t.Fatal(err)
		}
		health, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return out, string(health)
	}
	cm, gm, _ := loadPair(t, path, nil)
	want, _ := replies(cm)
	got, health := replies(gm)
	for i := range want {
		if want[i] == "" {
			t.Errorf("request %d: the CPU's reply is empty: nothing compared", i)
		}
		if got[i] != want[i] {
			t.Errorf("request %d: cuda %q, cpu %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(health, `"backend":"cuda"`) || !strings.Contains(health, `"held_bytes":`) {
		t.Errorf("/health on the GPU: %s", health)
	}
}
