package edge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// Fault paths of issue #12: each test is named after the promise it proves and would fail
// without the fix it covers. The power-cut variants copy the files as a power cut would
// leave them at the instant of the fault (crashCopy) and reopen.

// holdSync blocks the first WAL sync after it is installed until the returned release is
// called; entered is closed when that sync is waiting. The record is written (pwrite) but
// not yet durable: a power cut now would lose it.
func holdSync(t *testing.T) (entered <-chan struct{}, release func()) {
	t.Helper()
	in, out := make(chan struct{}), make(chan struct{})
	var once, rel sync.Once
	edge.SetWALFault(func() error {
		once.Do(func() {
			close(in)
			<-out
		})
		return nil
	})
	release = func() { rel.Do(func() { close(out) }) }
	t.Cleanup(func() {
		release()
		edge.SetWALFault(nil)
	})
	return in, release
}

// powerCutKeeps cuts the power now (crashCopy), reopens and checks what every fault test
// promises: the last seq is want (every acknowledged transaction, seqs gap-free), and the
// ledger equals a replay of the journal (what depotd db check runs).
func powerCutKeeps(t *testing.T, path string, want uint64, opts edge.Options) {
	t.Helper()
	r := mustOpenAt(t, crashCopy(t, path), opts)
	if last, _ := r.Positions(); last != want {
		t.Fatalf("after a power cut last_seq %d, want the %d acknowledged", last, want)
	}
	for seq := uint64(1); seq <= want; seq++ {
		if _, err := r.Get(seq); err != nil {
			t.Fatalf("after a power cut seq %d: %v", seq, err)
		}
	}
	if problems := r.Check(); len(problems) > 0 {
		t.Fatalf("after a power cut the journal does not check: %v", problems)
	}
}

// failNextWALSync fails the next WAL sync with EIO, once: the record is written and may be
// intact on disk while its writer is told it failed.
func failNextWALSync(t *testing.T) {
	t.Helper()
	var once sync.Once
	edge.SetWALFault(func() error {
		var err error
		once.Do(func() { err = syscall.EIO })
		return err
	})
	t.Cleanup(func() { edge.SetWALFault(nil) })
}

type commitOutcome struct {
	tx       edge.Transaction
	existing bool
	err      error
	afterRel bool // the answer came after the original's sync was released
}

// answeredOnlyAfterRelease starts commit(tx) while the original's sync is held and checks
// it is not answered before release. It returns the answer.
func answeredOnlyAfterRelease(t *testing.T, j *edge.Journal, tx edge.Transaction, release func()) commitOutcome {
	t.Helper()
	var released atomic.Bool
	got := make(chan commitOutcome, 1)
	go func() {
		out, existing, err := j.Commit(context.Background(), tx)
		got <- commitOutcome{out, existing, err, released.Load()}
	}()
	// Proving that something does not happen needs a window: a wrong answer comes at
	// once (within microseconds), so 300 ms on a loaded machine is ample.
	select {
	case o := <-got:
		release()
		t.Fatalf("%s answered (existing=%v err=%v) while the transaction it depends on was not durable yet", tx.ID, o.existing, o.err)
	case <-time.After(300 * time.Millisecond):
	}
	released.Store(true)
	release()
	select {
	case o := <-got:
		if !o.afterRel {
			t.Fatalf("%s answered before the original was durable", tx.ID)
		}
		return o
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never answered after the original became durable", tx.ID)
	}
	return commitOutcome{}
}

// #12.1: a retry of an id whose first posting waits for its fsync is answered only once
// that posting is durable, and then as "existing" with the original's seq.
func TestRetryIsAnsweredOnlyOnceTheOriginalIsDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	entered, release := holdSync(t)
	first := make(chan commitOutcome, 1)
	go func() {
		out, existing, err := j.Commit(context.Background(), receipt("r1", ""))
		first <- commitOutcome{tx: out, existing: existing, err: err}
	}()
	<-entered
	retry := answeredOnlyAfterRelease(t, j, receipt("r1", ""), release)
	orig := <-first
	if orig.err != nil || orig.existing || orig.tx.Seq != 1 {
		t.Fatalf("original: %+v", orig)
	}
	if retry.err != nil || !retry.existing || retry.tx.Seq != 1 {
		t.Fatalf("retry: %+v, want existing seq 1", retry)
	}
	// What the retry was told is on disk.
	if _, err := mustOpenAt(t, crashCopy(t, path), edge.Options{}).GetByID("r1"); err != nil {
		t.Fatalf("after a power cut the transaction the retry was told exists is missing: %v", err)
	}
}

// #12.1: a negative-stock refusal judged against a group that is not durable yet is
// answered only once that group is.
func TestRefusalIsAnsweredOnlyOnceWhatItWasJudgedOnIsDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{Catalog: mustCatalog(t, map[edge.LocationType]edge.NegativePolicy{edge.LocInternal: edge.NegativeRefuse})})
	entered, release := holdSync(t)
	first := make(chan error, 1)
	go func() {
		_, _, err := j.Commit(context.Background(), edge.Transaction{ID: "in", Type: edge.Receipt, Lines: []edge.Line{line("A", "3", "", "WH/Stock")}})
		first <- err
	}()
	<-entered
	o := answeredOnlyAfterRelease(t, j, edge.Transaction{ID: "out", Type: edge.Issue, Lines: []edge.Line{line("A", "5", "WH/Stock", "")}}, release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	var se *edge.StockError
	if !errors.As(o.err, &se) || se.Have.String() != "3" {
		t.Fatalf("refusal: %v, want a StockError judged on the 3 received", o.err)
	}
}

// #12.2: nothing waits for the committer while holding quota state the committer needs.
// Retention (its ticks and its pruning) measured the quota under a lock the committer
// takes after every group, and raised the disk_space exception through the committer
// while holding it: commits, acks and reads then hung for good.
func TestQuotaMeasurementNeverDeadlocksCommitsAndRetention(t *testing.T) {
	clk := newClock()
	const max = 1 << 20
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Now: clk.Now, MaxDBSize: max})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() {
		_ = j.RunRetention(ctx, edge.JournalConfig{Retention: time.Hour, PruneInterval: time.Millisecond, PruneBatch: 16})
	})
	progress := make(chan struct{}, 1)
	finished := make(chan struct{})
	raised := func() int {
		excs, err := j.Exceptions(true, 1000)
		if err != nil {
			t.Error(err)
		}
		n := 0
		for _, e := range excs {
			if e.Kind == edge.ExcDiskSpace {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(time.Minute)
	wg.Go(func() {
		defer close(finished)
		// Fill to the warning, then let acks, snapshots and pruning bring it below the
		// re-arm mark, again and again: every crossing raises a disk_space exception.
		// Three of them, however long a loaded machine takes (at most a minute).
		for i := 0; ctx.Err() == nil && time.Now().Before(deadline); i++ {
			_, _, err := j.Commit(ctx, receipt(txID("q", i), bigNote))
			if err != nil && !errors.Is(err, edge.ErrDiskFull) && ctx.Err() == nil {
				t.Error(err)
				return
			}
			if u, _ := j.DiskUsage(); u.Fraction >= edge.QuotaWarn {
				last, _ := j.Positions()
				if _, err := j.Ack(edge.Ack{UptoSeq: last}); err != nil {
					t.Error(err)
					return
				}
				if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: last}); err != nil {
					t.Error(err)
					return
				}
				clk.Add(2 * time.Hour)
				if raised() >= 3 {
					return
				}
			}
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	})
	for done := false; !done; {
		select {
		case <-progress:
		case <-finished:
			done = true
		case <-time.After(10 * time.Second):
			t.Fatal("no commit finished for 10 s: the journal is deadlocked")
		}
	}
	if n := raised(); n < 3 {
		t.Fatalf("%d disk_space exceptions: the quota crossed its warning fewer than 3 times in a minute, the test proved nothing", n)
	}
}

// #12.3: Close returns after a final checkpoint that fails, says what it could not do,
// and the next Open replays what only the WAL holds.
func TestCloseReturnsWhenTheFinalCheckpointFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), CheckpointIdle: time.Hour, CheckpointEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	commitN(t, j, "c", 20, 4)
	edge.SetCheckpointFault(func() error { return fmt.Errorf("write %s: %w", path, syscall.ENOSPC) })
	t.Cleanup(func() { edge.SetCheckpointFault(nil) })
	powerCutKeeps(t, path, 20, edge.Options{}) // at the instant of the fault
	closed := make(chan error, 1)
	go func() { closed <- j.Close() }()
	select {
	case err = <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return after its final checkpoint failed")
	}
	if err == nil || !strings.Contains(err.Error(), "write-ahead log") || !strings.Contains(err.Error(), "next start replays") {
		t.Fatalf("Close: %v, want an error saying the WAL keeps the transactions", err)
	}
	edge.SetCheckpointFault(nil)
	r := mustOpenAt(t, path, edge.Options{})
	if last, _ := r.Positions(); last != 20 {
		t.Fatalf("after reopen last_seq %d, want 20", last)
	}
}

// #12.3 on a real full filesystem: commits go on in the preallocated WAL while
// checkpoints fail, Close returns, and every acknowledged transaction is there after the
// next Open.
func TestCloseReturnsOnAFullDiskAndLosesNothing(t *testing.T) {
	dir := mountTmpfs(t, "2m")
	path := filepath.Join(dir, "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), WALSize: 512 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ballast := filepath.Join(dir, "ballast")
	fill := func() {
		t.Helper()
		// Take the rest of the filesystem, so that the next checkpoint cannot grow the file.
		f, err := os.Create(ballast)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for {
			if _, err := f.Write(buf); err != nil {
				break
			}
		}
		f.Close()
	}
	commitN(t, j, "a", 50, 1)
	if _, err := j.Status(); err != nil { // a checkpoint: the 50 are in bbolt
		t.Fatal(err)
	}
	fill()
	acked := 50
	for i := 0; i < 200; i++ {
		if _, _, err := j.Commit(context.Background(), receipt(txID("b", i), "")); err != nil {
			if !errors.Is(err, edge.ErrDiskFull) {
				t.Fatalf("commit on a full disk: %v", err)
			}
			break
		}
		acked++
	}
	if acked == 50 {
		t.Fatal("no commit went to the WAL on the full disk")
	}
	powerCutKeeps(t, path, uint64(acked), edge.Options{WALSize: 512 << 10})
	closed := make(chan error, 1)
	go func() { closed <- j.Close() }()
	select {
	case err = <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not return on a full disk")
	}
	t.Logf("%d acknowledged; Close said: %v", acked, err)
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	r := mustOpenAt(t, path, edge.Options{WALSize: 512 << 10})
	if last, _ := r.Positions(); last != uint64(acked) {
		t.Fatalf("after reopen last_seq %d, want the %d acknowledged", last, acked)
	}
}

func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("DEPOTD_INTEGRATION") == "1" {
			t.Fatalf("mounting a tmpfs: %v: %s", err, out)
		}
		t.Skipf("mounting a %s tmpfs is not permitted here (%v: %s)", size, err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// #12.7: an intact record after a damaged one is media corruption, not a torn write: Open
// refuses with the file and the lsns, instead of dropping acknowledged records.
func TestCorruptWALRecordBeforeIntactOnesRefusesToOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "m", 5, 1) // one record each, at 0, 4096, 8192, ...
	crashed := crashCopy(t, path)
	wal := edge.WALPath(crashed)
	raw, err := os.ReadFile(wal)
	if err != nil {
		t.Fatal(err)
	}
	raw[2*4096+100] ^= 0x40 // a flipped bit in the third record's payload
	if err := os.WriteFile(wal, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = edge.Open(crashed, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	var ce *edge.WALCorruptError
	if !errors.As(err, &ce) || !errors.Is(err, edge.ErrWALCorrupt) {
		t.Fatalf("open with a corrupt record in the middle: %v, want ErrWALCorrupt", err)
	}
	if ce.Bad != 3 || ce.Found != 4 || ce.Path != wal || !strings.Contains(err.Error(), wal) {
		t.Fatalf("error %q names lsn %d→%d in %s, want 3→4 in %s", err, ce.Bad, ce.Found, ce.Path, wal)
	}
	// Compact refuses the same way: it would reuse the seqs too.
	if _, err := edge.Compact(crashed, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)}); !errors.Is(err, edge.ErrWALCorrupt) {
		t.Fatalf("compact: %v, want ErrWALCorrupt", err)
	}
}

// #12.7: a torn last record stays what it is, the end of the log, however much of the
// file lies beyond it.
func TestTornLastWALRecordIsTheEndNotCorruption(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "t", 5, 1)
	crashed := crashCopy(t, path)
	wal := edge.WALPath(crashed)
	raw, err := os.ReadFile(wal)
	if err != nil {
		t.Fatal(err)
	}
	raw[4*4096+100] ^= 0x40 // the fifth, last record
	if err := os.WriteFile(wal, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if last, _ := mustOpenAt(t, crashed, edge.Options{}).Positions(); last != 4 {
		t.Fatalf("last_seq %d, want 4 (the torn fifth record is dropped)", last)
	}
}

// #12.8: when the WAL sync and the checkpoint that replaces it both fail, the caller is
// told the outcome is unknown (the record may replay), a power cut then keeps the
// transaction or not, and a retry with the same id always tells the truth.
func TestFailedSyncAndCheckpointAnswerOutcomeUnknown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "u", 3, 1)
	if _, err := j.Status(); err != nil {
		t.Fatal(err)
	}
	failNextWALSync(t)
	edge.SetCheckpointFault(func() error { return syscall.EIO })
	t.Cleanup(func() { edge.SetCheckpointFault(nil) })
	_, _, err := j.Commit(context.Background(), receipt("maybe", ""))
	if !errors.Is(err, edge.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "retry with the same id") {
		t.Fatalf("commit whose WAL sync and checkpoint failed: %v, want ErrOutcomeUnknown", err)
	}
	// A power cut now: the record was written before its sync failed, and replays.
	crashed := crashCopy(t, path)
	r := mustOpenAt(t, crashed, edge.Options{})
	if tx, existing, err := r.Commit(context.Background(), receipt("maybe", "")); err != nil || !existing || tx.Seq != 4 {
		t.Fatalf("retry after a power cut: seq %d existing=%v %v, want the replayed seq 4", tx.Seq, existing, err)
	}
	// The disk recovers without a restart: the retry commits it, once.
	edge.SetCheckpointFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		tx, existing, err := j.Commit(context.Background(), receipt("maybe", ""))
		if err == nil {
			if tx.Seq != 4 || existing {
				t.Fatalf("retry after recovery: seq %d existing=%v, want a fresh seq 4", tx.Seq, existing)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retry after recovery: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mustCommit(t, j, receipt("next", ""))
	r2 := mustOpenAt(t, crashCopy(t, path), edge.Options{})
	if last, _ := r2.Positions(); last != 5 {
		t.Fatalf("after recovery and a power cut last_seq %d, want 5 (the failed record must not replay again)", last)
	}
}

// #12.10: a WAL found at full size is made durable at open (a crash between its zero-fill
// and that fill's fsync leaves a full-size file never synced), with its directory.
func TestWALIsSyncedAtEveryOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, j, receipt("a", ""))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	synced := map[string]bool{}
	edge.SetOpenSyncs(func(p string) {
		mu.Lock()
		synced[p] = true
		mu.Unlock()
	})
	t.Cleanup(func() { edge.SetOpenSyncs(nil) })
	mustOpenAt(t, path, edge.Options{})
	mu.Lock()
	defer mu.Unlock()
	if !synced[edge.WALPath(path)] || !synced[filepath.Dir(path)] {
		t.Fatalf("open synced %v, want the WAL file %s and its directory", synced, edge.WALPath(path))
	}
}

// #12.12: a checkpoint that keeps failing is retried with a backoff: commits go on in the
// WAL while it has room, bystanders' reads do not each pay an attempt, and once the
// disk recovers checkpoints resume by themselves.
func TestFailingCheckpointsSpareBystanders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := mustOpenAt(t, path, edge.Options{WALSize: 8 << 20})
	var attempts atomic.Int64
	edge.SetCheckpointFault(func() error {
		attempts.Add(1)
		return fmt.Errorf("write %s: %w", path, syscall.ENOSPC)
	})
	t.Cleanup(func() { edge.SetCheckpointFault(nil) })
	// More than checkpointBytes (1 MiB) of payload: every group after it asks for one.
	start := time.Now()
	for i := 0; i < 1500; i++ {
		if _, _, err := j.Commit(context.Background(), receipt(txID("b", i), strings.Repeat("x", 900))); err != nil {
			t.Fatalf("commit %d while checkpoints fail and the WAL has room: %v", i, err)
		}
		if i%10 == 0 {
			if _, err := j.Status(); err != nil { // a console read
				t.Fatal(err)
			}
		}
	}
	elapsed := time.Since(start)
	powerCutKeeps(t, path, 1500, edge.Options{WALSize: 8 << 20})
	// One attempt per backoff step at most (50 ms doubling to 1 s), plus the first.
	limit := int64(elapsed/(50*time.Millisecond)) + 2
	if n := attempts.Load(); n > limit {
		t.Fatalf("%d checkpoint attempts in %s (1500 commits, 150 reads): want at most %d with the backoff", n, elapsed.Round(time.Millisecond), limit)
	}
	edge.SetCheckpointFault(nil)
	deadline := time.Now().Add(10 * time.Second)
	for j.Checkpoints() == 0 || func() bool { s, _ := j.Status(); return s.LastSeq != 1500 }() {
		if time.Now().After(deadline) {
			t.Fatal("checkpoints did not resume after the disk recovered")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// #12.13: one clear message per failure, true in every word: the cause once, and no
// "nothing was written" for a failure after the WAL held the transactions.
func TestDiskFullErrorsSayItOnceAndTruly(t *testing.T) {
	j := mustOpen(t, nil)
	edge.SetCommitFault(func() error { return fmt.Errorf("write /data/depotd.db: %w", syscall.ENOSPC) })
	_, _, err := j.Commit(context.Background(), receipt("full", ""))
	edge.SetCommitFault(nil)
	if !errors.Is(err, edge.ErrDiskFull) {
		t.Fatalf("%v, want ErrDiskFull", err)
	}
	msg := err.Error()
	for _, s := range []string{"no space left on device", "not committed", "journal"} {
		if n := strings.Count(msg, s); n != 1 {
			t.Errorf("%q appears %d times in %q, want once", s, n, msg)
		}
	}
	if strings.Contains(msg, "nothing was written") {
		t.Errorf("%q", msg)
	}
	// An ack rides in the WAL: when its sync fails and the checkpoint that should replace
	// it fails too, the ack's error says so, the cause once.
	mustCommit(t, j, receipt("ok", ""))
	edge.SetWALFault(func() error { return fmt.Errorf("sync /data/depotd.db.wal: %w", syscall.ENOSPC) })
	edge.SetCheckpointFault(func() error { return fmt.Errorf("write /data/depotd.db: %w", syscall.ENOSPC) })
	_, err = j.Ack(edge.Ack{UptoSeq: 1})
	edge.SetCheckpointFault(nil)
	edge.SetWALFault(nil)
	if err == nil {
		t.Fatal("ack with a failing checkpoint succeeded")
	}
	msg = err.Error()
	if n := strings.Count(msg, "no space left on device"); n != 1 || strings.Contains(msg, "nothing was written") {
		t.Fatalf("ack error %q: want the cause once and no false claim", msg)
	}
}
