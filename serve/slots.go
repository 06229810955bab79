package serve

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/glmtool/glmtool/infer"
)

// slot is one KV cache. Its session keeps the tokens of the last request it served, so that a follow-up
// request (a chat client re-sends the whole conversation each turn) evaluates only what is new.
type slot struct {
	sess     *infer.Session
	lastUsed time.Time
}

// slotPool hands out idle slots: the one whose cache the prompt continues (it shares at least half of the
// slot's cached tokens: the same conversation, or the same long system prompt), the longest such match
// first; else the least recently used, whose cache is the least likely to be wanted again. A prompt that
// shares only the chat template's first tokens with a slot does not evict that slot's conversation.
type slotPool struct {
	mu      sync.Mutex
	idle    []*slot
	avail   chan struct{} // one token per idle slot, so that waiting is a channel receive
	queue   int           // requests that may wait for a slot
	waiting atomic.Int64  // requests waiting now
}

func newSlotPool(sessions []*infer.Session, queue int) *slotPool {
	p := &slotPool{avail: make(chan struct{}, len(sessions)), queue: queue}
	for _, s := range sessions {
		p.idle = append(p.idle, &slot{sess: s})
		p.avail <- struct{}{}
	}
	return p
}

// Idle is the number of idle slots.
func (p *slotPool) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

var errQueueFull = errors.New("queue full")

// acquire waits for an idle slot: at once when one is idle, after queueing when fewer than queue
// requests wait, else errQueueFull. With cache, the slot chosen is the one whose cache the prompt
// continues; it returns how many of the prompt's tokens that slot already holds.
func (p *slotPool) acquire(ctx context.Context, prompt []int32, cache bool) (*slot, int, error) {
	select {
	case <-p.avail:
	default:
		if p.waiting.Add(1) > int64(p.queue) {
			p.waiting.Add(-1)
			return nil, 0, errQueueFull
		}
		select {
		case <-p.avail:
			p.waiting.Add(-1)
		case <-ctx.Done():
			p.waiting.Add(-1)
			return nil, 0, ctx.Err()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	best, bestScore := 0, -1
	for i, sl := range p.idle {
		score := 0
		if cache {
			cached := sl.sess.Tokens()
			if n := commonPrefix(cached, prompt); n > 0 && 2*n >= len(cached) {
				score = n
			}
		}
		if score > bestScore || score == bestScore && sl.lastUsed.Before(p.idle[best].lastUsed) {
			best, bestScore = i, score
		}
	}
	sl := p.idle[best]
	p.idle = append(p.idle[:best], p.idle[best+1:]...)
	reuse := 0
	if cache {
		reuse = commonPrefix(sl.sess.Tokens(), prompt) // a miss still keeps the template's shared start
	}
	return sl, reuse, nil
}

// release returns a slot, its cache kept for the next request.
func (p *slotPool) release(sl *slot) {
	sl.lastUsed = time.Now()
	p.mu.Lock()
	p.idle = append(p.idle, sl)
	p.mu.Unlock()
	p.avail <- struct{}{}
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
