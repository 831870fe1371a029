package uplink

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// flushDelay is how long a written packet may wait in the write buffer for others to join
// it. It bounds the latency buffering adds to a lone packet (a PINGREQ, a PUBACK).
const flushDelay = 500 * time.Microsecond

// OpenConn is a paho OpenConnectionFunc (SetCustomOpenConnectionFn) for the accepted
// schemes that buffers the connection both ways. paho reads every packet with several
// small unbuffered reads (the fixed header byte, each length byte, the body) and writes
// every packet with its own write, so a drain costs a few syscalls per message; buffered,
// PUBACKs are read in bulk and publishes leave in batches (flushed within flushDelay, or
// when 64 KiB have gathered). Proxies from the environment are not used.
func OpenConn(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var conn net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		conn, err = d.Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts":
		conn, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	case "ws", "wss":
		u := *uri
		u.User = nil // gorilla refuses URLs with user info (paho #623)
		var tc *tls.Config
		if uri.Scheme == "wss" {
			tc = o.TLSConfig
		}
		conn, err = mqtt.NewWebsocket(u.String(), tc, o.ConnectTimeout, o.HTTPHeaders, o.WebsocketOptions)
	default:
		return nil, fmt.Errorf("unsupported broker scheme %q", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	wt := o.WriteTimeout
	if wt <= 0 {
		wt = writeTimeout
	}
	return newBufConn(conn, wt), nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader

	// flushTimeout bounds a flush from the timer: paho's own write deadline applies to its
	// Write into the buffer, not to the flush that follows.
	flushTimeout time.Duration

	mu     sync.Mutex
	w      *bufio.Writer
	timer  *time.Timer
	armed  bool
	err    error // sticky: a failed flush fails every later Write
	closed bool
}

func newBufConn(c net.Conn, flushTimeout time.Duration) *bufConn {
	b := &bufConn{Conn: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10), flushTimeout: flushTimeout}
	b.timer = time.AfterFunc(time.Hour, b.flush)
	b.timer.Stop()
	return b
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	n, err := c.w.Write(p) // writes through by itself when the buffer fills
	if err != nil {
		c.err = err
		return n, err
	}
	if !c.armed && c.w.Buffered() > 0 {
		c.armed = true
		c.timer.Reset(flushDelay)
	}
	return n, nil
}

func (c *bufConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed = false
	if c.err == nil && !c.closed && c.w.Buffered() > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.flushTimeout))
		c.err = c.w.Flush()
		c.Conn.SetWriteDeadline(time.Time{})
	}
}

// Close sends what is buffered (bounded by a short deadline: the peer may be gone) and
// closes the connection. When a flush is under way (perhaps stuck on a dead link), Close
// does not wait for it: closing the connection is what ends it.
func (c *bufConn) Close() error {
	c.timer.Stop()
	if c.mu.TryLock() {
		if !c.closed && c.err == nil && c.w.Buffered() > 0 {
			c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
			c.w.Flush()
		}
		c.closed = true
		c.mu.Unlock()
	}
	return c.Conn.Close()
}

// SetWriteDeadline and SetDeadline take the write lock: the flush timer writes on its own
// goroutine, and a websocket connection may not have its deadline changed during a write.
func (c *bufConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *bufConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}
