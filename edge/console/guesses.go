package console

import (
	"sync"
	"time"
)

// guessLimiter counts invalid bearer tokens per client address: after max of them within
// window the address is refused until the window ends, so tokens cannot be guessed at
// wire speed. Valid tokens are never counted or refused.
type guessLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	seen   map[string]guessWindow
}

type guessWindow struct {
	n     int
	start time.Time
}

// guessAddrs bounds the addresses remembered; beyond it, the expired ones are dropped.
const guessAddrs = 10000

func newGuessLimiter(max int, window time.Duration, now func() time.Time) *guessLimiter {
	return &guessLimiter{max: max, window: window, now: now, seen: map[string]guessWindow{}}
}

// wait is how long addr must wait before it may try a token again; 0 if it may now.
func (g *guessLimiter) wait(addr string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	w, ok := g.seen[addr]
	if !ok || w.n < g.max {
		return 0
	}
	if left := w.start.Add(g.window).Sub(g.now()); left > 0 {
		return left
	}
	delete(g.seen, addr)
	return 0
}

// failed records an invalid token from addr.
func (g *guessLimiter) failed(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	w, ok := g.seen[addr]
	if !ok || now.Sub(w.start) >= g.window {
		if !ok && len(g.seen) >= guessAddrs {
			for a, old := range g.seen {
				if now.Sub(old.start) >= g.window {
					delete(g.seen, a)
				}
			}
		}
		w = guessWindow{start: now}
	}
	w.n++
	g.seen[addr] = w
}
