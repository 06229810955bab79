package serve

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/glmtool/glmtool/infer"
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

// TestTakeChoosesPass: a pass takes every decode step and prompts' next chunks in arrival order while
// they fit in one chunk's rows (the first always, cut to a chunk); a cancelled prompt is answered with
// its error and dropped.
func TestTakeChoosesPass(t *testing.T) {
	live, cancel := context.Background(), func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	step := func() *work { return &work{tokens: []int32{1}} }
	prompt := func(ctx context.Context, n int) *work { return &work{ctx: ctx, tokens: make([]int32, n), prompt: true} }
	for _, tc := range []struct {
		name    string
		pending []*work
		rows    []int // each part's rows, in order
		left    int   // works still pending after take
	}{
		{"steps only", []*work{step(), step(), step()}, []int{1, 1, 1}, 3},
		{"a long prompt is cut to a chunk", []*work{prompt(live, 150), step()}, []int{promptRows, 1}, 2},
		{"prompts that fit share the pass", []*work{prompt(live, 20), step(), prompt(live, 30), prompt(live, 14)}, []int{20, 1, 30, 14}, 4},
		{"arrival order: a later short prompt waits behind one that does not fit",
			[]*work{prompt(live, 35), prompt(live, 35), step(), prompt(live, 5)}, []int{35, 1}, 4},
		{"a cancelled prompt is dropped", []*work{prompt(cancel(), 10), step(), prompt(live, 3)}, []int{1, 3}, 2},
	} {
		b := &batcher{arrived: make(chan struct{}, 1)}
		for _, w := range tc.pending {
			w.done = make(chan struct{})
		}
		b.pending = append(b.pending, tc.pending...)
		var rows []int
		for _, p := range b.take() {
			rows = append(rows, len(p.tokens))
		}
		if fmt.Sprint(rows) != fmt.Sprint(tc.rows) || len(b.pending) != tc.left {
			t.Errorf("%s: pass %v with %d pending after, want %v with %d", tc.name, rows, len(b.pending), tc.rows, tc.left)
		}
		for _, w := range tc.pending {
			if w.prompt && w.ctx.Err() != nil && (!w.answered || w.err == nil) {
				t.Errorf("%s: the cancelled prompt was not answered with its error", tc.name)
			}
		}
	}
}

// TestPromptChunksBesideDecoding: a long prompt (three chunks) submitted while another stream decodes is
// evaluated in passes that carry that stream's steps too, so the stream goes on decoding; both get
// exactly the logits they get evaluated alone.
func TestPromptChunksBesideDecoding(t *testing.T) {
	m := loadFixture(t, "glm-4-9b-chat-tiny")
	b := newBatcher(m)
	newSession := func() *infer.Session {
		s, err := m.NewSession(256, infer.KVF32)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	long := make([]int32, 2*promptRows+22)
	for i := range long {
		long[i] = int32(7 + i%50)
	}
	const steps = 40
	decoded := make(chan [][]float32)
	started := make(chan struct{})
	go func() {
		prompt, step, end := b.stream(newSession())
		defer end()
		var rows [][]float32
		row, err := prompt(context.Background(), []int32{3, 4, 5})
		for i := 0; err == nil && i < steps; i++ {
			rows = append(rows, slices.Clone(row))
			if i == 2 {
				close(started)
			}
			row, err = step(int32(10 + i))
		}
		if err != nil {
			t.Error(err)
		}
		decoded <- rows
	}()
	<-started
	prompt, _, end := b.stream(newSession())
	got, err := prompt(context.Background(), long)
	end()
	if err != nil {
		t.Fatal(err)
	}
	rows := <-decoded

	alone := newSession()
	want, err := alone.EvalPrompt(context.Background(), long)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Error("the prompt evaluated beside decode steps got other logits than alone")
	}
	alone = newSession()
	lg, err := alone.Eval([]int32{3, 4, 5}, false)
	for i := 0; err == nil && i < steps; i++ {
		if !slices.Equal(rows[i], lg[0]) {
			t.Errorf("decode step %d got other logits than alone", i)
		}
		lg, err = alone.Eval([]int32{int32(10 + i)}, false)
	}
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	chunks, beside := b.chunks, b.beside
	b.mu.Unlock()
	// Chunks: the decoding stream's prompt and the long prompt's three; the long prompt's ride with steps.
	if chunks != 4 || beside < 3 {
		t.Errorf("%d prompt chunks, %d of them beside decode steps; want 4 and the long prompt's 3", chunks, beside)
	}
}
