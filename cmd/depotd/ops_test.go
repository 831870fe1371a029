package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/embedbroker"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"
)

const opsAdminToken = "ops-admin-token-00000001"

// writeOpsConfig writes a config with a supervisor token (crashToken, as post() uses) and
// an admin token, its data in dir/data.
func writeOpsConfig(t *testing.T, dir string, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`depot: {id: CRASH}
data_dir: %s
console:
  listen: "127.0.0.1:0"
  api_tokens:
    - {name: t, token: %q, role: supervisor}
    - {name: backup, token: %q, role: admin}
locations:
  - {name: WH/Stock, type: internal}
  - {name: WH/Input, type: internal}
  - {name: Van-1, type: mobile}
%s`, filepath.Join(dir, "data"), crashToken, opsAdminToken, extra)
	path := filepath.Join(dir, "depotd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startEnvDaemon(t *testing.T, bin, cfgPath string, env ...string) *daemonProc {
	t.Helper()
	return startProcEnv(t, bin, env, "run", "--config", cfgPath)
}

// notifySocket listens where a test's depotd sends sd_notify datagrams.
func notifySocket(t *testing.T) (string, <-chan string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make(chan string, 1024)
	go func() {
		defer close(msgs)
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(strings.TrimSpace(string(buf[:n])), "\n") {
				select {
				case msgs <- l:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return path, msgs
}

func waitMsg(t *testing.T, msgs <-chan string, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatalf("notify socket closed before %q", want)
			}
			if m == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %q from depotd within %s", want, within)
		}
	}
}

// TestSystemdNotifyAndSIGTERM runs the real binary under a fake systemd: READY=1 once it
// listens, WATCHDOG=1 pings at half WATCHDOG_USEC, and on SIGTERM STOPPING=1, a clean exit
// within the deadline, and a database that checks clean with every answered transaction.
func TestSystemdNotifyAndSIGTERM(t *testing.T) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, "")
	sock, msgs := notifySocket(t)
	p := startEnvDaemon(t, bin, cfgPath, "NOTIFY_SOCKET="+sock, "WATCHDOG_USEC=400000")
	waitMsg(t, msgs, "READY=1", 10*time.Second)
	for i := 0; i < 3; i++ {
		waitMsg(t, msgs, "WATCHDOG=1", 5*time.Second)
	}
	// Post under load, then SIGTERM while posting.
	base := "http://" + p.addr
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	answered := map[string]uint64{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("term-%d-%d", w, i)
				_, body := crashTx(id, i)
				code, seq, err := post(ctx, client, base, body)
				if err != nil {
					return
				}
				if code == http.StatusCreated {
					mu.Lock()
					answered[id] = seq
					mu.Unlock()
				}
			}
		}()
	}
	for {
		mu.Lock()
		n := len(answered)
		mu.Unlock()
		if n >= 50 {
			break
		}
		select {
		case <-p.done:
			t.Fatalf("depotd died:\n%s", p.logText())
		case <-time.After(5 * time.Millisecond):
		}
	}
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitMsg(t, msgs, "STOPPING=1", 10*time.Second)
	select {
	case <-p.done:
	case <-time.After(shutdownTimeout + 10*time.Second):
		t.Fatalf("depotd did not stop within its deadline:\n%s", p.logText())
	}
	cancel()
	wg.Wait()
	if p.err != nil {
		t.Fatalf("depotd exited with %v after SIGTERM:\n%s", p.err, p.logText())
	}
	if !strings.Contains(p.logText(), "depotd stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.logText())
	}
	t.Logf("stopped %s after SIGTERM with %d transactions answered", time.Since(start).Round(time.Millisecond), len(answered))
	checkDatabase(t, bin, cfgPath)
	q := startEnvDaemon(t, bin, cfgPath)
	stored := map[string]uint64{}
	for _, tx := range fetchAllAt(t, "http://"+q.addr) {
		stored[tx.ID] = tx.Seq
	}
	for id, seq := range answered {
		if stored[id] != seq {
			t.Fatalf("%s answered with seq %d, stored %d", id, seq, stored[id])
		}
	}
}

func fetchAllAt(t *testing.T, base string) []listedTx { return fetchAll(t, base) }

// TestBackupRestoreBinary: `depotd backup` against the running binary under load, a
// refused restore while it runs, and a restore after it stopped that keeps seqs going up.
func TestBackupRestoreBinary(t *testing.T) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, "")
	p := startEnvDaemon(t, bin, cfgPath)
	base := "http://" + p.addr
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= 40; i++ {
		_, body := crashTx(fmt.Sprintf("b-%d", i), i)
		if code, _, err := post(context.Background(), client, base, body); err != nil || code != http.StatusCreated {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	// The config's listen is port 0: point the backup at the real port.
	cfgReal := filepath.Join(dir, "real.yaml")
	raw, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgReal, bytes.Replace(raw, []byte("127.0.0.1:0"), []byte(p.addr), 1), 0o600)
	bak := filepath.Join(dir, "backup.db")
	out, err := exec.Command(bin, "backup", "--config", cfgReal, "--out", bak).CombinedOutput()
	if err != nil {
		t.Fatalf("depotd backup: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "last_seq 40") {
		t.Fatalf("backup output: %s", out)
	}
	if _, err := os.Stat(bak + ".sha256"); err != nil {
		t.Fatal(err)
	}
	// A supervisor token may not take backups.
	req, _ := http.NewRequest("GET", base+"/api/v1/backup", nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("backup with a supervisor token: %v %v", resp.Status, err)
	}
	for i := 41; i <= 60; i++ {
		_, body := crashTx(fmt.Sprintf("b-%d", i), i)
		post(context.Background(), client, base, body)
	}
	out, err = exec.Command(bin, "restore", "--config", cfgPath, "--from", bak).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "depotd is running") {
		t.Fatalf("restore while running: %v\n%s", err, out)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	// 41..60 were never acknowledged (no uplink here): refused without --force.
	if out, err = exec.Command(bin, "restore", "--config", cfgPath, "--from", bak).CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "seqs 41..60") {
		t.Fatalf("restore over unacknowledged transactions without --force: %v\n%s", err, out)
	}
	out, err = exec.Command(bin, "restore", "--config", cfgPath, "--from", bak, "--force").CombinedOutput()
	if err != nil {
		t.Fatalf("depotd restore: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "seqs 41..60 are skipped") || !strings.Contains(string(out), "continue at seq 61") {
		t.Fatalf("restore output: %s", out)
	}
	checkDatabase(t, bin, cfgPath)
	q := startEnvDaemon(t, bin, cfgPath)
	_, body := crashTx("after-restore", 1)
	code, seq, err := post(context.Background(), client, "http://"+q.addr, body)
	if err != nil || code != http.StatusCreated || seq != 61 {
		t.Fatalf("post after restore: %d seq %d %v (want 201 seq 61)", code, seq, err)
	}
}

// TestRestoreOntoBlankGateway: the data dir does not exist yet; restore creates it.
func TestRestoreOntoBlankGateway(t *testing.T) {
	bin := depotdBinary(t)
	src := t.TempDir()
	cfgPath := writeOpsConfig(t, src, "")
	p := startEnvDaemon(t, bin, cfgPath)
	_, body := crashTx("blank-1", 0)
	post(context.Background(), &http.Client{}, "http://"+p.addr, body)
	cfgReal := filepath.Join(src, "real.yaml")
	raw, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgReal, bytes.Replace(raw, []byte("127.0.0.1:0"), []byte(p.addr), 1), 0o600)
	bak := filepath.Join(src, "b.db")
	if out, err := exec.Command(bin, "backup", "--config", cfgReal, "--out", bak).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v %s", err, out)
	}
	blank := t.TempDir()
	blankCfg := writeOpsConfig(t, blank, "")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"restore", "--config", blankCfg, "--from", bak, "--floor", "7"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("restore onto a blank gateway: %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "continue at seq 8") {
		t.Fatalf("restore output: %s", stdout.String())
	}
	checkDatabase(t, bin, blankCfg)
}

func TestDBCompactCmd(t *testing.T) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, "")
	p := startEnvDaemon(t, bin, cfgPath)
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 1; i <= 20; i++ {
		_, body := crashTx(fmt.Sprintf("c-%d", i), i)
		post(context.Background(), client, "http://"+p.addr, body)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"db", "compact", "--config", cfgPath}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "stop depotd first") {
		t.Fatalf("compact while running: %d %s", code, stderr.String())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"db", "compact", "--config", cfgPath}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("compact: %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "compacted from") {
		t.Fatalf("compact output: %s", stdout.String())
	}
	checkDatabase(t, bin, cfgPath)
}

// TestDiskQuotaOverAPI: with journal.max_db_size at its 1MiB minimum, the real binary
// raises one disk_space exception and then answers 507 with a clear error, while reads keep
// working. (Acks and the recovery by pruning are proven in edge's TestQuotaThresholds.)
func TestDiskQuotaOverAPI(t *testing.T) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, "journal: {max_db_size: 1MiB}\n")
	p := startEnvDaemon(t, bin, cfgPath)
	base := "http://" + p.addr
	client := &http.Client{Timeout: 10 * time.Second}
	note := strings.Repeat("x", 1900)
	var refusal string
	for i := 1; ; i++ {
		if i > 2000 {
			t.Fatal("never refused")
		}
		body := fmt.Sprintf(`{"id":"q-%d","type":"receipt","note":%q,"lines":[{"item":"SKU-1","qty":"1","to":"WH/Stock"}]}`, i, note)
		req, _ := http.NewRequest("POST", base+"/api/v1/transactions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+crashToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusInsufficientStorage {
			refusal = string(raw)
			break
		}
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("post %d: %d %s", i, resp.StatusCode, raw)
		}
	}
	if !strings.Contains(refusal, "disk") || !strings.Contains(refusal, "retry") {
		t.Fatalf("507 body %q does not explain itself", refusal)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/exceptions?open=true", nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Count(string(raw), `"kind":"disk_space"`) != 1 {
		t.Fatalf("exceptions: %d %s", resp.StatusCode, raw)
	}
}

// TestShutdownDeadline: a part that ignores cancellation cannot hold shutdown past the
// deadline; a part that stops in time returns its own result.
func TestShutdownDeadline(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	cases := []struct {
		name    string
		stuck   bool
		wantErr bool
	}{
		{"parts stop in time", false, false},
		{"a part ignores cancellation", true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			g, gctx := errgroup.WithContext(ctx)
			release := make(chan struct{})
			defer close(release)
			g.Go(func() error {
				<-gctx.Done()
				if c.stuck {
					<-release
				}
				return nil
			})
			cancel()
			start := time.Now()
			_, err := waitParts(log, g, gctx, 200*time.Millisecond)
			if (err != nil) != c.wantErr {
				t.Fatalf("waitParts: %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("took %s", took)
			}
		})
	}
}

func TestAPIBase(t *testing.T) {
	cases := []struct{ listen, want string }{
		{":8080", "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"[::]:9000", "http://127.0.0.1:9000"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080"},
		{"[fe80::1]:8080", "http://[fe80::1]:8080"},
		{"localhost:81", "http://localhost:81"},
	}
	for _, c := range cases {
		got, err := apiBase(c.listen)
		if err != nil || got != c.want {
			t.Errorf("apiBase(%q) = %q, %v; want %q", c.listen, got, err, c.want)
		}
	}
	if _, err := apiBase("8080"); err == nil {
		t.Error("apiBase accepted a listen address without a port")
	}
}

// TestSIGTERMPublishesOffline runs the real binary against a real (embedded mochi) broker:
// after SIGTERM the retained status says online:false, depotd exits 0 within the deadline
// and the database checks clean.
func TestSIGTERMPublishesOffline(t *testing.T) {
	bin := depotdBinary(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- embedbroker.Serve(bctx, ln, slog.New(slog.DiscardHandler)) }()
	defer func() { bcancel(); <-bdone }()
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, fmt.Sprintf("uplink: {brokers: [\"tcp://%s\"]}\n", ln.Addr()))
	p := startEnvDaemon(t, bin, cfgPath)

	// Watch the retained status as the ERP would.
	statuses := make(chan uplink.Status, 64)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + ln.Addr().String()).SetClientID("erp-watch").SetCleanSession(true)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect watcher: %v", tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Subscribe("depots/CRASH/status", 1, func(_ mqtt.Client, m mqtt.Message) {
		var s uplink.Status
		if json.Unmarshal(m.Payload(), &s) == nil {
			statuses <- s
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	waitStatus := func(online bool) uplink.Status {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case s := <-statuses:
				if s.Online == online {
					return s
				}
			case <-deadline:
				t.Fatalf("no status online:%v\n%s", online, p.logText())
			}
		}
	}
	on := waitStatus(true)
	_, body := crashTx("before-term", 0)
	if code, _, err := post(context.Background(), &http.Client{Timeout: 10 * time.Second}, "http://"+p.addr, body); err != nil || code != http.StatusCreated {
		t.Fatalf("post: %d %v", code, err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	off := waitStatus(false)
	if off.Session != on.Session {
		t.Fatalf("offline status of session %d, online was %d", off.Session, on.Session)
	}
	select {
	case <-p.done:
	case <-time.After(shutdownTimeout + 10*time.Second):
		t.Fatalf("depotd did not stop:\n%s", p.logText())
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.logText())
	}
	checkDatabase(t, bin, cfgPath)
}
