package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const crashToken = "crash-test-token-000001"

func writeCrashConfig(t *testing.T, dir string) string {
	t.Helper()
	cfg := fmt.Sprintf(`depot: {id: CRASH}
data_dir: %s
console:
  listen: "127.0.0.1:0"
  api_tokens: [{name: t, token: %q, role: supervisor}]
locations:
  - {name: WH/Stock, type: internal}
  - {name: WH/Input, type: internal}
  - {name: Van-1, type: mobile}
`, filepath.Join(dir, "data"), crashToken)
	path := filepath.Join(dir, "depotd.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type ackedTx struct {
	seq  uint64
	typ  string
	body string
}

// TestCrashKeepsEveryAcknowledgedTransaction runs the real binary, posts transactions from
// concurrent clients, and kills the process with SIGKILL at random moments, many times.
// After each restart, every transaction that was answered 201/200 must be there exactly
// once with the seq it was given, seqs must be gap-free, and the ledger must equal a replay
// of the journal (depotd db check).
func TestCrashKeepsEveryAcknowledgedTransaction(t *testing.T) {
	rounds := 12
	if testing.Short() {
		rounds = 4
	}
	crashRounds(t, rounds, func(t *testing.T, p *daemonProc, _ string, r *rand.Rand) bool {
		time.Sleep(time.Duration(50+r.IntN(400)) * time.Millisecond)
		p.kill(t)
		return true
	})
}

// TestKillDuringACheckpointKeepsEveryAcknowledgedTransaction is the same, killing the
// process while a checkpoint writes the database file: after bbolt wrote some pages and
// before its meta page, or between its two fdatasyncs. The WAL must still hold every
// group since the previous checkpoint, and the replay must not apply any twice.
func TestKillDuringACheckpointKeepsEveryAcknowledgedTransaction(t *testing.T) {
	if _, ok := dbIOSyscalls[runtime.GOARCH]; !ok || runtime.GOOS != "linux" {
		t.Skipf("watching for database writes needs Linux syscall numbers for %s", runtime.GOARCH)
	}
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	caught := 0
	crashRounds(t, rounds, func(t *testing.T, p *daemonProc, db string, _ *rand.Rand) bool {
		ok := killDuringDBWrite(t, p, db, 20*time.Second)
		if ok {
			caught++
		}
		return ok
	})
	t.Logf("%d of %d kills landed inside a checkpoint", caught, rounds)
	if caught < (rounds+1)/2 {
		t.Fatalf("only %d of %d kills landed inside a checkpoint: the test did not exercise it", caught, rounds)
	}
}

// dbIOSyscalls are the syscalls by which bbolt writes its file (pwrite64, fsync,
// fdatasync), per architecture, as /proc/<pid>/task/<tid>/syscall numbers them.
var dbIOSyscalls = map[string]map[int]bool{
	"amd64": {18: true, 74: true, 75: true},
	"arm64": {68: true, 82: true, 83: true},
}

// killDuringDBWrite SIGKILLs p the moment one of its threads is in a write or sync of
// the database file. bbolt writes that file only when it commits, and the journal
// commits to bbolt only in checkpoints (transactions go to the separate WAL file), so
// that moment is inside a checkpoint. It reports false if none came within d (the
// process is then killed anyway).
func killDuringDBWrite(t *testing.T, p *daemonProc, db string, d time.Duration) bool {
	t.Helper()
	pid := p.cmd.Process.Pid
	calls := dbIOSyscalls[runtime.GOARCH]
	fd := -1
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if fd < 0 {
			fd = fdOf(pid, db)
		}
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/syscall", pid, task.Name()))
			if err != nil {
				continue
			}
			// "<nr> <arg0> ...", or "running" / "-1 ..." outside a syscall.
			f := strings.Fields(string(raw))
			if len(f) < 2 {
				continue
			}
			nr, err1 := strconv.Atoi(f[0])
			arg0, err2 := strconv.ParseInt(strings.TrimPrefix(f[1], "0x"), 16, 64)
			if err1 == nil && err2 == nil && calls[nr] && fd >= 0 && int(arg0) == fd {
				p.kill(t)
				return true
			}
		}
	}
	p.kill(t)
	return false
}

// fdOf is the descriptor by which process pid holds path open, or -1.
func fdOf(pid int, path string) int {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && target == path {
			n, _ := strconv.Atoi(e.Name())
			return n
		}
	}
	return -1
}

// crashRounds starts the real binary, posts transactions from concurrent clients and
// lets kill end the process, rounds times; after each it runs depotd db check, and at the
// end it proves that every transaction answered 201/200 is there exactly once with the
// seq it was given, seqs are gap-free, and a re-post of an acknowledged id is answered
// with its original seq. kill reports whether it hit the moment it aims at.
func crashRounds(t *testing.T, rounds int, kill func(t *testing.T, p *daemonProc, db string, r *rand.Rand) bool) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	cfgPath := writeCrashConfig(t, dir)
	db := filepath.Join(dir, "data", dbFile)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	var mu sync.Mutex
	acked := map[string]ackedTx{}
	var next int
	var posted, unknown int
	for round := 0; round < rounds; round++ {
		p := startDaemon(t, bin, cfgPath)
		base := "http://" + p.addr
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 10 * time.Second}
				for ctx.Err() == nil {
					mu.Lock()
					next++
					n := next
					id := fmt.Sprintf("tx-%d", n)
					mu.Unlock()
					typ, body := crashTx(id, n)
					code, seq, err := post(ctx, client, base, body)
					mu.Lock()
					posted++
					switch {
					case err != nil:
						unknown++ // the process died mid-request: it may or may not be committed
					case code == http.StatusCreated || code == http.StatusOK:
						if prev, ok := acked[id]; ok && prev.seq != seq {
							t.Errorf("%s acknowledged with seq %d and %d", id, prev.seq, seq)
						}
						acked[id] = ackedTx{seq, typ, body}
					default:
						t.Errorf("%s: unexpected status %d", id, code)
					}
					mu.Unlock()
				}
			}()
		}
		kill(t, p, db, r)
		cancel()
		wg.Wait()
		checkDatabase(t, bin, cfgPath)
	}
	if t.Failed() {
		return
	}
	// Re-post acknowledged transactions: each must come back 200 with its original seq.
	p := startDaemon(t, bin, cfgPath)
	base := "http://" + p.addr
	all := fetchAll(t, base)
	seen := map[string]uint64{}
	for i, tx := range all {
		if tx.Seq != uint64(i+1) {
			t.Fatalf("seq gap: position %d holds seq %d", i+1, tx.Seq)
		}
		if prev, dup := seen[tx.ID]; dup {
			t.Fatalf("id %s stored twice (seq %d and %d)", tx.ID, prev, tx.Seq)
		}
		seen[tx.ID] = tx.Seq
	}
	for id, a := range acked {
		if got, ok := seen[id]; !ok || got != a.seq {
			t.Fatalf("acknowledged %s (seq %d) is missing or moved (found %d, %v)", id, a.seq, got, ok)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	n := 0
	for id := range acked {
		if n++; n > 50 {
			break
		}
		code, seq, err := post(context.Background(), client, base, acked[id].body)
		if err != nil || code != http.StatusOK || seq != acked[id].seq {
			t.Fatalf("re-post of %s: %d seq %d (want 200 seq %d): %v", id, code, seq, acked[id].seq, err)
		}
	}
	t.Logf("%d rounds, %d posts, %d acknowledged, %d interrupted, %d stored", rounds, posted, len(acked), unknown, len(all))
	if len(acked) < rounds {
		t.Fatalf("only %d transactions acknowledged: the test did not exercise the journal", len(acked))
	}
}

// crashTx makes a transaction for id; the mix moves stock between locations, so the ledger
// replay check has something to compare.
func crashTx(id string, n int) (string, string) {
	switch n % 4 {
	case 1:
		return "issue", fmt.Sprintf(`{"id":%q,"type":"issue","lines":[{"item":"SKU-%d","qty":"1","from":"WH/Stock"}]}`, id, n%5)
	case 2:
		return "transfer", fmt.Sprintf(`{"id":%q,"type":"transfer","lines":[{"item":"SKU-%d","qty":"2","from":"WH/Input","to":"Van-1"}]}`, id, n%5)
	case 3:
		return "count", fmt.Sprintf(`{"id":%q,"type":"count","lines":[{"item":"SKU-%d","qty":"%d","to":"WH/Stock"}]}`, id, n%5, n%7)
	}
	return "receipt", fmt.Sprintf(`{"id":%q,"type":"receipt","lines":[{"item":"SKU-%d","qty":"3","to":"WH/Input"},{"item":"SKU-%d","qty":"3","to":"WH/Stock"}]}`, id, n%5, n%5)
}

func post(ctx context.Context, client *http.Client, base, body string) (int, uint64, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/transactions", bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+crashToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	var out struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, 0, fmt.Errorf("answer %s: %w", raw, err)
	}
	return resp.StatusCode, out.Seq, nil
}

type listedTx struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"`
}

func fetchAll(t *testing.T, base string) []listedTx {
	t.Helper()
	var all []listedTx
	after := uint64(0)
	for {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/transactions?after=%d&limit=1000", base, after), nil)
		req.Header.Set("Authorization", "Bearer "+crashToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Transactions []listedTx `json:"transactions"`
			NextAfter    uint64     `json:"next_after"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Transactions) == 0 {
			return all
		}
		all = append(all, page.Transactions...)
		after = page.NextAfter
	}
}

func checkDatabase(t *testing.T, bin, cfgPath string) {
	t.Helper()
	out, err := exec.Command(bin, "db", "check", "--config", cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("depotd db check after SIGKILL: %v\n%s", err, out)
	}
}
