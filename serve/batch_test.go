package serve

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestContinuousBatchingSameReplies: four streams decoding at once (their steps batched) give exactly the
// replies each gets alone, greedy and seeded.
func TestContinuousBatchingSameReplies(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	srv, ts := startServer(t, m, Config{Parallel: 4, Queue: 8, Ctx: 256})
	url := ts.URL + "/v1/chat/completions"
	prompts := []string{"你好", "What is GGUF?", "讲个笑话", "1+1="}
	body := func(i int) string {
		sampling := `"temperature":0`
		if i%2 == 1 {
			sampling = `"temperature":0.9,"seed":` + fmt.Sprint(40+i)
		}
		return fmt.Sprintf(`{"messages":[{"role":"user","content":%q}],%s,"max_tokens":24,"cache_prompt":false}`, prompts[i], sampling)
	}
	reply := func(i int) string {
		resp, out := post(t, url, body(i))
		if resp.StatusCode != 200 {
			t.Errorf("request %d: %d %v", i, resp.StatusCode, out)
			return ""
		}
		return out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	}
	alone := make([]string, len(prompts))
	for i := range prompts {
		alone[i] = reply(i)
	}
	srv.batch.mu.Lock()
	batches0, steps0 := srv.batch.batches, srv.batch.steps
	srv.batch.mu.Unlock()
	for round := range 3 {
		together := make([]string, len(prompts))
		var wg sync.WaitGroup
		for i := range prompts {
			wg.Add(1)
			go func() { defer wg.Done(); together[i] = reply(i) }()
		}
		wg.Wait()
		for i := range prompts {
			if together[i] != alone[i] {
				t.Errorf("round %d, request %d: batched %q, alone %q", round, i, together[i], alone[i])
			}
		}
	}
	srv.batch.mu.Lock()
	batches, steps := srv.batch.batches-batches0, srv.batch.steps-steps0
	srv.batch.mu.Unlock()
	if batches == 0 || float64(steps)/float64(batches) < 1.5 {
		t.Errorf("%d steps in %d batches: the concurrent streams were not batched", steps, batches)
	}
	t.Logf("%d decode steps in %d batches (mean %.2f)", steps, batches, float64(steps)/float64(batches))
}

// TestManyStreams: 64 concurrent streamed requests on 4 slots all end with [DONE]; a client that goes
// away mid-stream frees its slot at once.
func TestManyStreams(t *testing.T) {
	m := loadFixture(t, "chatglm3-6b-tiny")
	srv, ts := startServer(t, m, Config{Parallel: 4, Queue: 64, Ctx: 256})
	url := ts.URL + "/v1/chat/completions"
	var wg sync.WaitGroup
	done := make([]bool, 64)
	for i := range done {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := streamRequest(context.Background(), url, 8+i%8)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if sc.Text() == "data: [DONE]" {
					done[i] = true
				}
			}
		}()
	}
	wg.Wait()
	for i, d := range done {
		if !d {
			t.Errorf("stream %d did not end with [DONE]", i)
		}
	}
	// A client that leaves mid-reply: its slot is idle again within 100 ms.
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := streamRequest(ctx, url, 200)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the first chunk: the reply is under way
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(100 * time.Millisecond)
	for srv.FreeSlots() != 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := srv.FreeSlots(); n != 4 {
		t.Errorf("%d of 4 slots idle 100 ms after the client left", n)
	}
	if _, err := http.Get(ts.URL + "/health"); err != nil {
		t.Fatal(err)
	}
}
