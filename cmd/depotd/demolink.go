package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
)

// demoLink stands for the depot's WAN link in the demo: the uplink reaches the embedded
// broker through it, and a switch cuts it (every connection closed, new ones refused) so
// that a newcomer can watch the backlog build while the depot goes on working, then drain
// when the link is back: the product's main promise, on demand.
type demoLink struct {
	ln     net.Listener
	target string
	log    *slog.Logger

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newDemoLink(target string, down bool, log *slog.Logger) (*demoLink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return &demoLink{ln: ln, target: target, log: log, down: down, conns: map[net.Conn]struct{}{}}, nil
}

// URL is the broker URL the uplink uses: through the link.
func (l *demoLink) URL() string { return "tcp://" + l.ln.Addr().String() }

// Down says whether the link is cut.
func (l *demoLink) Down() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

// SetDown cuts the link (closing every connection through it) or restores it.
func (l *demoLink) SetDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down == down {
		return
	}
	l.down = down
	if down {
		for c := range l.conns {
			c.Close()
		}
		l.log.Warn("demo: uplink link cut (the depot keeps working; watch the backlog grow)")
	} else {
		l.log.Info("demo: uplink link restored (the uplink reconnects after its backoff and drains the backlog)")
	}
}

// run carries connections until ctx ends; it waits for every copy it started.
func (l *demoLink) run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() {
		l.ln.Close()
		l.mu.Lock()
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
	})
	defer stop()
	for {
		in, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if !l.track(in) {
			in.Close() // cut: as a dead WAN link, nothing gets through
			continue
		}
		wg.Go(func() {
			defer l.untrack(in)
			out, err := net.Dial("tcp", l.target)
			if err != nil {
				return
			}
			if !l.track(out) {
				out.Close()
				return
			}
			defer l.untrack(out)
			var pipes sync.WaitGroup
			pipes.Go(func() { io.Copy(out, in); out.Close() })
			io.Copy(in, out)
			in.Close()
			pipes.Wait()
		})
	}
}

// track registers c, unless the link is down.
func (l *demoLink) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *demoLink) untrack(c net.Conn) {
	c.Close()
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}
