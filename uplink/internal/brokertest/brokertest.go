// Package brokertest runs real MQTT brokers for uplink tests: Debian's mosquitto spawned on
// a free loopback port with a generated config, the embedded mochi broker, and a TCP proxy
// that can black-hole its connections without closing them.
//
// When mosquitto is not installed the tests that need it are skipped with a message,
// unless DEPOTD_INTEGRATION=1 is set (CI), in which case they fail.
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/depotd/depotd/uplink/embedbroker"
)

// MosquittoPath returns the mosquitto binary (PATH, then /usr/sbin), or "" when absent.
func MosquittoPath() string {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Mosquitto is a spawned mosquitto process that can be killed and restarted on the same
// port.
type Mosquitto struct {
	scheme string
	tb     testing.TB
	bin    string
	conf   string
	port   int
	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
}

// StartMosquitto starts mosquitto on a free 127.0.0.1 port and stops it in tb.Cleanup.
func StartMosquitto(tb testing.TB) *Mosquitto {
	tb.Helper()
	return startMosquitto(tb, "tcp", "")
}

// StartMosquittoPersistent starts mosquitto with persistence on: its database (retained
// messages, persistent sessions with their subscriptions and queued QoS 1 messages) is
// saved on every change, so that a SIGKILL and Start on the same port keep what a broker
// that saves often would keep.
func StartMosquittoPersistent(tb testing.TB) *Mosquitto {
	tb.Helper()
	return startMosquitto(tb, "tcp", "", fmt.Sprintf("persistence true\npersistence_location %s/\nautosave_on_changes true\nautosave_interval 1\n", tb.TempDir()))
}

// StartMosquittoTLS starts mosquitto with a TLS listener that requires a client
// certificate signed by caFile (mutual TLS); URL is then ssl://.
func StartMosquittoTLS(tb testing.TB, caFile, certFile, keyFile string) *Mosquitto {
	tb.Helper()
	return startMosquitto(tb, "ssl", fmt.Sprintf("cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n", caFile, certFile, keyFile))
}

// StartMosquittoWSS starts mosquitto with its plain listener (URL, for the ERP simulator)
// and a second one speaking MQTT over WebSocket with TLS, whose wss:// URL it returns.
func StartMosquittoWSS(tb testing.TB, certFile, keyFile string) (*Mosquitto, string) {
	tb.Helper()
	port := FreePort(tb)
	m := startMosquitto(tb, "tcp", "", fmt.Sprintf("listener %d 127.0.0.1\nprotocol websockets\ncertfile %s\nkeyfile %s\n", port, certFile, keyFile))
	addr := "127.0.0.1:" + strconv.Itoa(port)
	waitListening(tb, addr, "mosquitto wss listener")
	return m, "wss://" + addr + "/mqtt"
}

// StartMosquittoDynsec starts mosquitto on a free port with its dynamic security plugin
// configured by dynsecJSON (the plugin's config file); clients that connect without a
// username belong to the anonymous group it names. Unlike an acl_file, which mosquitto 2.0
// does not apply to SUBSCRIBE, the plugin can refuse a subscription (SUBACK 0x80).
func StartMosquittoDynsec(tb testing.TB, dynsecJSON string) *Mosquitto {
	tb.Helper()
	plugin := dynsecPlugin()
	if plugin == "" && MosquittoPath() != "" {
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			tb.Fatal("mosquitto_dynamic_security.so not found, and DEPOTD_INTEGRATION=1 requires it (apt-get install mosquitto)")
		}
		tb.Skip("mosquitto's dynamic security plugin not installed; set DEPOTD_INTEGRATION=1 to make this a failure")
	}
	path := filepath.Join(tb.TempDir(), "dynamic-security.json")
	if err := os.WriteFile(path, []byte(dynsecJSON), 0o600); err != nil {
		tb.Fatal(err)
	}
	return startMosquitto(tb, "tcp", "", fmt.Sprintf("plugin %s\nplugin_opt_config_file %s\n", plugin, path))
}

// dynsecPlugin returns the path of mosquitto_dynamic_security.so, or "" when absent.
func dynsecPlugin() string {
	for _, pattern := range []string{"/usr/lib/*/mosquitto_dynamic_security.so", "/usr/lib/mosquitto_dynamic_security.so",
		"/usr/local/lib/mosquitto_dynamic_security.so", "/usr/lib/mosquitto/mosquitto_dynamic_security.so"} {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			return m[0]
		}
	}
	return ""
}

func startMosquitto(tb testing.TB, scheme, listenerConf string, more ...string) *Mosquitto {
	tb.Helper()
	bin := MosquittoPath()
	if bin == "" {
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			tb.Fatal("mosquitto not found in PATH or /usr/sbin, and DEPOTD_INTEGRATION=1 requires it (apt-get install mosquitto)")
		}
		tb.Skip("mosquitto not installed (apt-get install mosquitto); set DEPOTD_INTEGRATION=1 to make this a failure")
	}
	m := &Mosquitto{tb: tb, bin: bin, port: StablePort(tb), scheme: scheme}
	dir := tb.TempDir()
	m.conf = filepath.Join(dir, "mosquitto.conf")
	// user root: run as root, mosquitto would otherwise drop to the mosquitto user.
	// Queues are unlimited so that a slow test subscriber is not the one losing messages.
	conf := fmt.Sprintf(`listener %d 127.0.0.1
%sallow_anonymous true
user root
max_inflight_messages 1000
max_queued_messages 0
max_queued_bytes 0
log_dest stderr
log_type error
log_type warning
%s`, m.port, listenerConf, strings.Join(more, ""))
	if !strings.Contains(conf, "persistence true") {
		conf += "persistence false\n"
	}
	if err := os.WriteFile(m.conf, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	m.Start()
	tb.Cleanup(m.Stop)
	return m
}

// URL is the broker's URL (tcp:// or ssl://).
func (m *Mosquitto) URL() string { return m.scheme + "://127.0.0.1:" + strconv.Itoa(m.port) }

// Addr is host:port.
func (m *Mosquitto) Addr() string { return "127.0.0.1:" + strconv.Itoa(m.port) }

// Start (re)starts the process and waits until the port accepts connections.
func (m *Mosquitto) Start() {
	m.tb.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		m.tb.Fatal("mosquitto already running")
	}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stderr = &prefixWriter{tb: m.tb}
	if err := cmd.Start(); err != nil {
		m.tb.Fatalf("start mosquitto: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	m.cmd, m.done = cmd, done
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			m.cmd = nil
			m.tb.Fatalf("mosquitto exited at start (port %d)", m.port)
		default:
		}
		if time.Now().After(deadline) {
			m.tb.Fatalf("mosquitto did not listen on %s: %v", m.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (m *Mosquitto) Kill() { m.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits; it is a no-op when not running.
func (m *Mosquitto) Stop() { m.signal(syscall.SIGTERM) }

func (m *Mosquitto) signal(sig syscall.Signal) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(sig)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	m.cmd = nil
}

type prefixWriter struct{ tb testing.TB }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.tb.Logf("mosquitto: %s", p)
	return len(p), nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StablePort returns a free loopback port below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range), for a server that must keep its port across a kill and
// a restart. A FreePort comes from that range, so between its check and the server's bind
// (or while a killed server is down) any outgoing connection on the machine may take it
// as its local port: on a loaded machine running tests in parallel, it sometimes does.
func StablePort(tb testing.TB) int {
	tb.Helper()
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				lo = n
			}
		}
	}
	for range 200 {
		port := 10000 + rand.IntN(lo-10000)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		return port
	}
	tb.Fatal("no free loopback port below the ephemeral range")
	return 0
}

// Mochi is an embedded mochi broker on a free loopback port.
type Mochi struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// StartMochi starts the embedded broker and stops it in tb.Cleanup.
func StartMochi(tb testing.TB) *Mochi {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mochi{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { m.done <- embedbroker.Serve(ctx, ln, nil) }()
	tb.Cleanup(m.Close)
	return m
}

// URL is the broker's tcp:// URL.
func (m *Mochi) URL() string { return "tcp://" + m.addr }

// Close stops the broker; safe to call twice.
func (m *Mochi) Close() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	m.cancel = nil
}

// Proxy forwards TCP connections to a target. Freeze black-holes every connection open at
// that moment: bytes are read and discarded in neither direction, nothing is closed, as
// when a NAT or a cellular link silently drops a flow. Later connections are forwarded.
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*proxied
	wg     sync.WaitGroup
}

type proxied struct {
	client, server net.Conn
	frozen         chan struct{}
	once           sync.Once
}

// StartProxy listens on a free loopback port and forwards to target (host:port).
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.Close)
	return p
}

// URL is the proxy's tcp:// URL.
func (p *Proxy) URL() string { return "tcp://" + p.ln.Addr().String() }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		pc := &proxied{client: c, server: s, frozen: make(chan struct{})}
		p.mu.Lock()
		p.conns = append(p.conns, pc)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); pc.pipe(s, c) }()
		go func() { defer p.wg.Done(); pc.pipe(c, s) }()
	}
}

// pipe copies src to dst until either fails or the connection is frozen; once frozen it
// stops reading altogether, so the sender's TCP window fills and nothing is acknowledged
// above TCP.
func (pc *proxied) pipe(dst, src net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		select {
		case <-pc.frozen:
			return
		default:
		}
		src.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case <-pc.frozen:
				return
			default:
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}

// Freeze black-holes every connection currently open and returns how many there were.
// Frozen connections stay open until Close, like a dead NAT entry.
func (p *Proxy) Freeze() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, pc := range p.conns {
		select {
		case <-pc.frozen:
		default:
			n++
		}
		pc.once.Do(func() { close(pc.frozen) })
	}
	return n
}

// Close stops the proxy and closes every connection, frozen ones included.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	all := p.conns
	p.mu.Unlock()
	for _, pc := range all {
		pc.client.Close()
		pc.server.Close()
	}
	p.wg.Wait()
}

// StartMochiWS starts an embedded mochi broker with only a WebSocket listener on a free
// loopback port and returns its ws:// URL; stopped in tb.Cleanup.
func StartMochiWS(tb testing.TB) string {
	tb.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(FreePort(tb))
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		tb.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewWebsocket(listeners.Config{ID: "ws", Address: addr})); err != nil {
		tb.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	waitListening(tb, addr, "websocket listener")
	return "ws://" + addr + "/mqtt"
}

// waitListening waits until addr accepts connections.
func waitListening(tb testing.TB, addr, what string) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s %s: %v", what, addr, err)
		}
	}
}
