package brokertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NATSServerPath returns a nats-server binary: $DEPOTD_NATS_SERVER when set (Debian's
// nats-server, say), otherwise the module's own nats-server (github.com/nats-io/nats-server/v2,
// a tool dependency in go.mod) built by `go tool -n`, which caches the executable in the
// Go build cache, so only the first run on a machine pays for the build.
//
// Built from the module rather than taken from the distribution so that every machine runs
// the version go.sum pins; run as a separate process per node rather than embedded so that
// a test can SIGKILL a node: an in-process server cannot die without its JetStream files
// being closed cleanly, which is not the failure a cluster must survive.
func NATSServerPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("DEPOTD_NATS_SERVER"); p != "" {
		return p
	}
	natsOnce.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			natsErr = fmt.Errorf("go toolchain not in PATH to build nats-server: %w", err)
			return
		}
		out, err := exec.Command(gobin, "tool", "-n", "nats-server").Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			natsErr = fmt.Errorf("go tool -n nats-server: %v: %s", err, stderr)
			return
		}
		natsBin = strings.TrimSpace(string(out))
	})
	if natsErr != nil {
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			tb.Fatalf("nats-server unavailable, and DEPOTD_INTEGRATION=1 requires it: %v", natsErr)
		}
		tb.Skipf("nats-server unavailable (%v); set DEPOTD_INTEGRATION=1 to make this a failure", natsErr)
	}
	return natsBin
}

var (
	natsOnce sync.Once
	natsBin  string
	natsErr  error
)

// NATSCluster is a cluster of nats-server processes on loopback, each with JetStream and an
// MQTT listener, the MQTT streams replicated to every node (at most 3, NATS's own cap).
type NATSCluster struct {
	Nodes []*NATSNode
}

// NATSNode is one node of a NATSCluster; it can be killed and restarted on the same ports
// with its JetStream store kept, as a crashed server comes back.
type NATSNode struct {
	Name string
	tb   testing.TB
	bin  string
	conf string
	mqtt int
	http int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartNATSCluster starts n nodes (n ≥ 1) and waits until every one reports healthy
// (JetStream current, so MQTT clients can connect); stopped in tb.Cleanup.
func StartNATSCluster(tb testing.TB, n int) *NATSCluster {
	tb.Helper()
	bin := NATSServerPath(tb)
	dir := tb.TempDir()
	type ports struct{ client, cluster, mqtt, http int }
	ps := make([]ports, n)
	for i := range ps {
		ps[i] = ports{StablePort(tb), StablePort(tb), StablePort(tb), StablePort(tb)}
	}
	c := &NATSCluster{}
	for i := range n {
		var routes []string
		for k := range n {
			if k != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ps[k].cluster))
			}
		}
		name := fmt.Sprintf("n%d", i+1)
		cluster := ""
		if n > 1 {
			cluster = fmt.Sprintf("cluster {\n  name: depotd\n  listen: 127.0.0.1:%d\n  routes: [%s]\n}\n", ps[i].cluster, strings.Join(routes, ", "))
		}
		// stream_replicas: every MQTT stream (sessions, QoS 1 messages, retained messages)
		// on every node, so any one node may die. js_api_timeout: when a node dies, the
		// streams it led elect a new leader (JetStream's raft waits 4 to 9 s); with the
		// default 5 s the other nodes close every MQTT connection whose QoS 1 publish or
		// session load waited that long, so the whole fleet reconnects instead of waiting.
		// default_max_consumers: every QoS 1 subscription of a persistent session is a
		// consumer of one stream, which NATS caps at 1000 by default (a depot has 6).
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 1GB
  limits { default_max_consumers: -1 }
}
%smqtt {
  listen: 127.0.0.1:%d
  stream_replicas: %d
  js_api_timeout: "10s"
}
`, name, ps[i].client, ps[i].http, filepath.Join(dir, name), cluster, ps[i].mqtt, min(n, 3))
		path := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			tb.Fatal(err)
		}
		c.Nodes = append(c.Nodes, &NATSNode{Name: name, tb: tb, bin: bin, conf: path, mqtt: ps[i].mqtt, http: ps[i].http})
	}
	for _, node := range c.Nodes {
		node.spawn()
		tb.Cleanup(node.Stop)
	}
	for _, node := range c.Nodes {
		node.WaitHealthy()
	}
	return c
}

// URLs are the nodes' MQTT tcp:// URLs, in node order.
func (c *NATSCluster) URLs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.URL()
	}
	return out
}

// URL is the node's MQTT tcp:// URL.
func (n *NATSNode) URL() string { return "tcp://127.0.0.1:" + strconv.Itoa(n.mqtt) }

// Addr is the node's MQTT host:port.
func (n *NATSNode) Addr() string { return "127.0.0.1:" + strconv.Itoa(n.mqtt) }

func (n *NATSNode) spawn() {
	n.tb.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil {
		n.tb.Fatalf("nats %s already running", n.Name)
	}
	cmd := exec.Command(n.bin, "-c", n.conf)
	// A test binary that dies without its cleanups (a timeout, a SIGKILL) must not leave
	// three servers running on a shared machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	lw := &natsLogWriter{tb: n.tb, node: n.Name}
	if dir := os.Getenv("DEPOTD_NATS_LOGDIR"); dir != "" {
		f, err := os.OpenFile(filepath.Join(dir, n.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			n.tb.Fatal(err)
		}
		n.tb.Cleanup(func() { f.Close() })
		lw.all = f
	}
	cmd.Stderr = lw
	if err := cmd.Start(); err != nil {
		n.tb.Fatalf("start nats-server %s: %v", n.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done
}

// Start restarts a stopped or killed node and waits until it is healthy again.
func (n *NATSNode) Start() {
	n.tb.Helper()
	n.spawn()
	n.WaitHealthy()
}

// WaitHealthy waits until the node's /healthz answers 200: its JetStream is up and current
// with the cluster's meta leader, which MQTT needs before it accepts a CONNECT.
func (n *NATSNode) WaitHealthy() {
	n.tb.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", n.http)
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		n.mu.Lock()
		done := n.done
		n.mu.Unlock()
		select {
		case <-done:
			n.tb.Fatalf("nats %s exited before it was healthy", n.Name)
		default:
		}
		resp, err := hc.Get(url)
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if c, err := net.DialTimeout("tcp", n.Addr(), time.Second); err == nil {
					c.Close()
					return
				}
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(b.String()))
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			n.tb.Fatalf("nats %s not healthy within 60s: %s", n.Name, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (n *NATSNode) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits; it is a no-op when not running.
func (n *NATSNode) Stop() { n.signal(syscall.SIGTERM) }

func (n *NATSNode) signal(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.done:
	case <-time.After(15 * time.Second):
		n.cmd.Process.Kill()
		<-n.done
	}
	n.cmd = nil
}

// natsLogWriter passes on the server's warnings and errors; its info lines (one per
// connection, stream and election) would drown a test's own log. With DEPOTD_NATS_LOGDIR
// set, every line also goes to <dir>/<node>.log, to follow elections after a failure.
type natsLogWriter struct {
	tb   testing.TB
	all  io.Writer
	node string
	mu   sync.Mutex
	part []byte
}

func (w *natsLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.all != nil {
		w.all.Write(p)
	}
	w.part = append(w.part, p...)
	for {
		i := bytes.IndexByte(w.part, '\n')
		if i < 0 {
			break
		}
		line := string(w.part[:i])
		w.part = w.part[i+1:]
		if strings.Contains(line, "[ERR]") || strings.Contains(line, "[WRN]") || strings.Contains(line, "[FTL]") {
			w.tb.Logf("nats %s: %s", w.node, line)
		}
	}
	return len(p), nil
}

// Consumers is the number of JetStream consumers the node knows (its /jsz): on NATS every
// QoS 1 subscription of a persistent MQTT session is one.
func (n *NATSNode) Consumers() int {
	n.tb.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", n.http))
	if err != nil {
		n.tb.Fatalf("nats %s /jsz: %v", n.Name, err)
	}
	defer resp.Body.Close()
	var jsz struct {
		Consumers int `json:"consumers"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jsz); err != nil {
		n.tb.Fatalf("nats %s /jsz: %v", n.Name, err)
	}
	return jsz.Consumers
}
