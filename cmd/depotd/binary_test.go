package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// depotdBinary builds the real binary once per test run.
func depotdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "depotd-bin-*")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "depotd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build depotd: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// daemonProc is a depotd process started by a test.
type daemonProc struct {
	cmd  *exec.Cmd
	addr string
	done chan struct{}
	mu   sync.Mutex
	log  strings.Builder
	err  error // how the process ended, once done is closed
}

var listenRE = regexp.MustCompile(`msg="console listening" addr=(\S+)`)

// startDaemon runs `depotd run --config path` and waits until its console listens.
func startDaemon(t *testing.T, bin, cfgPath string) *daemonProc {
	t.Helper()
	return startProc(t, bin, "run", "--config", cfgPath)
}

// startProc runs depotd with args and waits until its console listens.
func startProc(t *testing.T, bin string, args ...string) *daemonProc {
	t.Helper()
	return startProcEnv(t, bin, nil, args...)
}

// startProcEnv is startProc with extra environment (NOTIFY_SOCKET, WATCHDOG_USEC).
func startProcEnv(t *testing.T, bin string, env []string, args ...string) *daemonProc {
	t.Helper()
	return startProcRE(t, bin, env, listenRE, args...)
}

// startProcRE runs depotd with args and waits until a log line matches re, whose first
// group becomes the process's addr.
func startProcRE(t *testing.T, bin string, env []string, re *regexp.Regexp, args ...string) *daemonProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{cmd: cmd, done: make(chan struct{})}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.addr = <-addrc:
	case <-p.done:
		t.Fatalf("depotd exited before listening:\n%s", p.logText())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-p.done
		t.Fatalf("depotd did not listen within 30s:\n%s", p.logText())
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *daemonProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *daemonProc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("depotd did not die after SIGKILL")
	}
}
