package odootest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/odoo"
)

// Server is a second Odoo server process of the test's own, on the shared server's
// database: a test can SIGKILL and restart it without disturbing the shared server that
// other tests (and other helpers' test runs) use at the same moment. Odoo is built for
// several server processes on one database (its workers are just that), so the second one
// sees the same records and keys.
type Server struct {
	tb     testing.TB
	env    Env // with the second server's URL
	python string
	script string // odoo-bin
	dir    string // its working directory, the shared server's source tree
	conf   string
	log    string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// StartServer launches a second odoo-bin as the shared server runs it (read from
// /proc/ODOO_PID: its interpreter, script, working directory and config), with its own
// free HTTP port and log file, waits until it answers and kills it when tb ends.
func StartServer(tb testing.TB, env Env) *Server {
	tb.Helper()
	if env.PID == 0 {
		tb.Fatalf("%s: no ODOO_PID, so the shared server's command line is unknown", env.Path)
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", env.PID))
	if err != nil {
		tb.Fatalf("the shared Odoo (ODOO_PID=%d) is not running here: %v", env.PID, err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	dir, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", env.PID))
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{tb: tb, dir: dir}
	var conf string
	for i, a := range args {
		switch {
		case strings.HasSuffix(a, "odoo-bin") && s.script == "":
			s.script, s.python = a, strings.Join(args[:i], " ")
		case (a == "-c" || a == "--config") && i+1 < len(args):
			conf = args[i+1]
		case strings.HasPrefix(a, "--config="):
			conf = strings.TrimPrefix(a, "--config=")
		}
	}
	if s.script == "" || conf == "" || strings.Contains(s.python, " ") {
		tb.Fatalf("the shared Odoo's command line %q is not `python odoo-bin -c CONF`", args)
	}
	if !filepath.IsAbs(conf) {
		conf = filepath.Join(dir, conf)
	}
	tmp := tb.TempDir()
	s.conf, s.log = filepath.Join(tmp, "odoo.conf"), filepath.Join(tmp, "odoo.log")
	port := freePort(tb)
	if err := writeConf(conf, s.conf, map[string]string{
		"http_port": strconv.Itoa(port), "http_interface": "127.0.0.1", "logfile": s.log,
		"max_cron_threads": "0", // the shared server's crons are not ours to run twice
	}); err != nil {
		tb.Fatal(err)
	}
	s.env = env
	s.env.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.env.PID = 0
	s.Start()
	tb.Cleanup(func() {
		s.Kill()
		if tb.Failed() {
			tb.Logf("second Odoo's log: %s", s.log)
		}
	})
	return s
}

// writeConf copies the [options] of from to to, with the keys in set replaced or added.
func writeConf(from, to string, set map[string]string) error {
	in, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var b strings.Builder
	done := map[string]bool{}
	for line := range strings.SplitSeq(string(in), "\n") {
		k, _, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if v, mine := set[k]; ok && mine {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
			done[k] = true
			continue
		}
		b.WriteString(line + "\n")
	}
	for k, v := range set {
		if !done[k] {
			fmt.Fprintf(&b, "%s = %s\n", k, v)
		}
	}
	return os.WriteFile(to, []byte(b.String()), 0o600)
}

// Env is the shared server's Env with the second server's URL.
func (s *Server) Env() Env { return s.env }

// Log is the second server's log file.
func (s *Server) Log() string { return s.log }

// Start (re)starts the process and waits until it answers a JSON-2 call (Odoo loads the
// database's registry first: seconds on a loaded machine).
func (s *Server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.tb.Fatal("second Odoo already running")
	}
	cmd := exec.Command(s.python, s.script, "-c", s.conf)
	cmd.Dir = s.dir
	// A test binary killed without its cleanups must not leave an Odoo running on a
	// shared machine.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start second Odoo: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	c, err := odoo.New(odoo.Options{URL: s.env.URL, Database: s.env.DB, APIKey: s.env.APIKey, Timeout: 10 * time.Second})
	if err != nil {
		s.tb.Fatal(err)
	}
	start := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.Version(ctx)
		cancel()
		if err == nil {
			s.tb.Logf("second Odoo on %s answered %v after start", s.env.URL, time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.tb.Fatalf("second Odoo exited at start; its log %s ends:\n%s", s.log, tail(s.log, 20))
		default:
		}
		if time.Since(start) > 2*time.Minute {
			s.tb.Fatalf("second Odoo did not answer on %s within 2m: %v; its log %s ends:\n%s", s.env.URL, err, s.log, tail(s.log, 20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill sends SIGKILL and waits until the process is gone (PostgreSQL then rolls back
// whatever transaction it had open); a no-op when it is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
