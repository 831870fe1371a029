package odootest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of the real Odoo, for the faults a running server cannot
// be asked to make: the link refused, or cut after Odoo received a call but before its
// answer arrived (the outcome is then unknown to the caller).
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  ProxyMode
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// ProxyMode says what the proxy does with connections.
type ProxyMode int

const (
	Pass        ProxyMode = iota // forward both ways
	Refuse                       // close every new connection at once
	DropAnswers                  // forward calls, then cut the link when Odoo starts answering
)

// NewProxy listens on a free loopback port and forwards to env's server until tb ends.
func NewProxy(tb testing.TB, env Env) *Proxy {
	tb.Helper()
	u, err := url.Parse(env.URL)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// URL is the Odoo URL through the proxy.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

// Env is env with its URL through the proxy.
func (p *Proxy) Env(env Env) Env {
	env.URL = p.URL()
	return env
}

// SetMode changes what happens to connections from now on; it also cuts the open ones,
// so that the next call opens a connection in the new mode.
func (p *Proxy) SetMode(m ProxyMode) {
	p.mu.Lock()
	p.mode = m
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == Refuse {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c) || !p.track(up) {
			c.Close()
			up.Close()
			continue
		}
		p.wg.Add(2)
		go func() { // calls: client → Odoo
			defer p.wg.Done()
			io.Copy(up, c)
			up.Close()
		}()
		go func() { // answers: Odoo → client
			defer p.wg.Done()
			if mode == DropAnswers {
				var b [1]byte
				io.ReadFull(up, b[:]) // Odoo has committed and begun its answer
			} else {
				io.Copy(c, up)
			}
			c.Close()
			up.Close()
		}()
	}
}

func (p *Proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
