package edge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// walOnly opens a journal that checkpoints only when something forces it, so that what
// it commits stays in the WAL until the test looks.
func walOnly(tb testing.TB, path string, opts edge.Options) *edge.Journal {
	tb.Helper()
	opts.CheckpointEvery, opts.CheckpointIdle = time.Hour, time.Hour
	return mustOpenAt(tb, path, opts)
}

// crashCopy copies the database and its WAL as a power cut would leave them: whatever the
// files hold now, nothing the running journal would still do.
func crashCopy(tb testing.TB, path string) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "depotd.db")
	for _, p := range []string{path, edge.WALPath(path)} {
		raw, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		target := dst
		if p != path {
			target = edge.WALPath(dst)
		}
		if err := os.WriteFile(target, raw, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	return dst
}

func commitN(tb testing.TB, j *edge.Journal, prefix string, n, writers int) {
	tb.Helper()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				if _, _, err := j.Commit(context.Background(), receipt(txID(prefix, i), "")); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestWALKeepsCommitsAcrossCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "w", 200, 8)
	crashed := crashCopy(t, path)

	// The database file alone does not have them: they are durable in the WAL only.
	bare := filepath.Join(t.TempDir(), "depotd.db")
	raw, err := os.ReadFile(crashed)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bare, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if last, _ := mustOpenAt(t, bare, edge.Options{}).Positions(); last != 0 {
		t.Fatalf("the database without its WAL has last_seq %d: the test commits were checkpointed, nothing was left to replay", last)
	}

	r := mustOpenAt(t, crashed, edge.Options{})
	if last, _ := r.Positions(); last != 200 {
		t.Fatalf("after replay last_seq %d, want 200", last)
	}
	for i := range 200 {
		if _, err := r.GetByID(txID("w", i)); err != nil {
			t.Fatalf("%s after replay: %v", txID("w", i), err)
		}
	}
	rows, err := r.Stock(edge.StockFilter{Item: "SKU-1"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "200" {
		t.Fatalf("stock after replay: %+v %v, want 200 of SKU-1", rows, err)
	}
	if tx := mustCommit(t, r, receipt("after", "")); tx.Seq != 201 {
		t.Fatalf("next seq after replay %d, want 201", tx.Seq)
	}
}

// One transaction per WAL record (a single writer waits for each), so record k holds
// seq k and starts at block k-1.
func TestWALTornRecordEndsReplay(t *testing.T) {
	for _, torn := range []int{10, 4} {
		t.Run(fmt.Sprintf("record-%d", torn), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "depotd.db")
			j := walOnly(t, path, edge.Options{})
			commitN(t, j, "t", 10, 1)
			crashed := crashCopy(t, path)
			f, err := os.OpenFile(edge.WALPath(crashed), os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			// A byte inside the payload: the checksum catches it.
			if _, err := f.WriteAt([]byte{0xff}, int64(torn-1)*4096+40); err != nil {
				t.Fatal(err)
			}
			// A torn record is always the last one written: nothing after it (an intact
			// record after it is corruption, TestCorruptWALRecordBeforeIntactOnesRefusesToOpen).
			if _, err := f.WriteAt(make([]byte, (10-torn)*4096), int64(torn)*4096); err != nil {
				t.Fatal(err)
			}
			f.Close()
			r := mustOpenAt(t, crashed, edge.Options{})
			if last, _ := r.Positions(); last != uint64(torn-1) {
				t.Fatalf("after a torn record %d last_seq %d, want %d", torn, last, torn-1)
			}
			if tx := mustCommit(t, r, receipt("after", "")); tx.Seq != uint64(torn) {
				t.Fatalf("next seq %d, want %d (gap-free)", tx.Seq, torn)
			}
		})
	}
}

func TestWALOfAnotherDatabaseIsIgnored(t *testing.T) {
	a := filepath.Join(t.TempDir(), "depotd.db")
	ja := walOnly(t, a, edge.Options{})
	commitN(t, ja, "a", 5, 1)
	b := filepath.Join(t.TempDir(), "depotd.db")
	jb, err := edge.Open(b, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	commitN(t, jb, "b", 2, 1)
	if err := jb.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(edge.WALPath(a))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(edge.WALPath(b), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustOpenAt(t, b, edge.Options{})
	if last, _ := r.Positions(); last != 2 {
		t.Fatalf("last_seq %d after opening beside another database's WAL, want its own 2", last)
	}
	if _, err := r.GetByID(txID("a", 0)); !errors.Is(err, edge.ErrNotFound) {
		t.Fatalf("a transaction of the other database: %v", err)
	}
}

func TestReadsSeeWhatOnlyTheWALHolds(t *testing.T) {
	j := walOnly(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{})
	tx := mustCommit(t, j, receipt("r1", ""))
	got, err := j.Get(tx.Seq)
	if err != nil || got.ID != "r1" {
		t.Fatalf("get right after commit: %+v %v", got, err)
	}
	st, err := j.Status()
	if err != nil || st.LastSeq != tx.Seq || st.Backlog != 1 {
		t.Fatalf("status right after commit: %+v %v", st, err)
	}
}

func TestWALFullCommitsToBbolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{WALSize: 4 * 4096})
	commitN(t, j, "f", 300, 16)
	if last, _ := j.Positions(); last != 300 {
		t.Fatalf("last_seq %d, want 300", last)
	}
	r := mustOpenAt(t, crashCopy(t, path), edge.Options{})
	if last, _ := r.Positions(); last != 300 {
		t.Fatalf("after a crash last_seq %d, want 300", last)
	}
}

// A WAL write whose sync fails may have left an intact record behind. Its group is made
// durable by a checkpoint instead, and that record must never replay over it.
func TestWALSyncFailureCheckpointsInstead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "s", 3, 1)
	// A read checkpoints, so the failing record goes to offset 0, where replay looks first.
	if _, err := j.Status(); err != nil {
		t.Fatal(err)
	}
	failNextWALSync(t)
	tx := mustCommit(t, j, receipt("through-fault", ""))
	if tx.Seq != 4 {
		t.Fatalf("seq %d, want 4", tx.Seq)
	}
	// Writes that reach bbolt without the WAL (a snapshot is checkpointed at once) are
	// what a replayed stale record would undo.
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 4,
		Rows: []edge.StockSnapshotRow{{Item: "SKU-1", Location: "WH/Stock", Qty: edge.MustQty("100")}}}); err != nil {
		t.Fatal(err)
	}
	checkCrash := func(wantLast int, wantQty string) {
		t.Helper()
		r := mustOpenAt(t, crashCopy(t, path), edge.Options{})
		if last, _ := r.Positions(); last != uint64(wantLast) {
			t.Fatalf("after a crash last_seq %d, want %d", last, wantLast)
		}
		rows, err := r.Stock(edge.StockFilter{Item: "SKU-1"})
		if err != nil || len(rows) != 1 || rows[0].Qty.String() != wantQty {
			t.Fatalf("stock %+v %v, want %s: the failed write's record was replayed", rows, err, wantQty)
		}
	}
	checkCrash(4, "100")
	commitN(t, j, "after", 3, 1)
	checkCrash(7, "103")
}

// Compact and Restore open the database file themselves: what a crash left in the WAL must
// reach the compacted copy, and count among the seqs a restore never reuses.
func TestCompactAndRestoreReplayTheWAL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live", "depotd.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "c", 10, 1)
	bak, _ := backupFile(t, j, dir, "at10.db") // a read: checkpoints the first 10
	commitN(t, j, "d", 15, 1)

	t.Run("compact", func(t *testing.T) {
		crashed := crashCopy(t, path)
		if _, err := edge.Compact(crashed, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)}); err != nil {
			t.Fatal(err)
		}
		left, _ := filepath.Glob(filepath.Join(filepath.Dir(crashed), "*.tmp*"))
		if len(left) > 0 {
			t.Fatalf("compaction left %v behind", left)
		}
		// The compacted file holds them by itself.
		if err := os.Remove(edge.WALPath(crashed)); err != nil {
			t.Fatal(err)
		}
		r := mustOpenAt(t, crashed, edge.Options{})
		if last, _ := r.Positions(); last != 25 {
			t.Fatalf("compacted last_seq %d, want 25", last)
		}
	})
	t.Run("restore", func(t *testing.T) {
		crashed := crashCopy(t, path)
		o := restoreOpts(t, bak)
		o.Force = true // 11..25 were never acknowledged
		res, err := edge.Restore(bak, crashed, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Floor != 25 {
			t.Fatalf("restore floor %d, want 25 (the replaced database's WAL held seqs 11..25)", res.Floor)
		}
		if _, err := os.Stat(edge.WALPath(crashed)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the replaced database's WAL is still beside the restored one: %v", err)
		}
		r := mustOpenAt(t, crashed, edge.Options{})
		if tx := mustCommit(t, r, receipt("after-restore", "")); tx.Seq != 26 {
			t.Fatalf("first seq after restore %d, want 26", tx.Seq)
		}
	})
}

// An exception raised with a transaction is in the same commit: a crash keeps both or
// neither, and a retry raises nothing again.
func TestCommitRaisingIsOneCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	raise := []edge.Exception{{Kind: edge.ExcUnknownItem, Item: "NEW-1", Message: `item "NEW-1" is not in the master data`}}
	tx, _, err := j.CommitRaising(context.Background(), receipt("r1", ""), raise)
	if err != nil {
		t.Fatal(err)
	}
	if _, existing, err := j.CommitRaising(context.Background(), receipt("r1", ""), raise); err != nil || !existing {
		t.Fatalf("retry: existing=%v %v", existing, err)
	}
	r := mustOpenAt(t, crashCopy(t, path), edge.Options{})
	excs, err := r.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(excs) != 1 || excs[0].Seq != tx.Seq || excs[0].Item != "NEW-1" {
		t.Fatalf("after a crash: %+v, want one unknown_item exception for seq %d", excs, tx.Seq)
	}
}

// A write that fails (an unknown exception resolved) rolls back to the last checkpoint:
// what only the WAL held comes back by replay.
func TestFailedWriteKeepsWhatTheWALHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "k", 3, 1)
	if _, err := j.ResolveException(999, edge.Resolution{By: "sam", Action: "acknowledged"}); !errors.Is(err, edge.ErrNotFound) {
		t.Fatalf("resolving an unknown exception: %v, want ErrNotFound", err)
	}
	commitN(t, j, "after", 1, 1)
	rows, err := j.Stock(edge.StockFilter{Item: "SKU-1"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "4" {
		t.Fatalf("stock %+v %v, want 4", rows, err)
	}
	if last, _ := mustOpenAt(t, crashCopy(t, path), edge.Options{}).Positions(); last != 4 {
		t.Fatalf("after a crash last_seq %d, want 4", last)
	}
}

// A slow fdatasync (flash can take longer than CheckpointIdle) leaves the committer with
// nothing to do while every writer waits for its answer. That is not idleness: an idle
// checkpoint then would rewrite bbolt's pages after every group under load.
func TestWritersWaitingForASlowWALSyncTriggerNoIdleCheckpoint(t *testing.T) {
	edge.SetWALFault(func() error { time.Sleep(100 * time.Millisecond); return nil }) // the slow disk
	t.Cleanup(func() { edge.SetWALFault(nil) })
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{
		CheckpointIdle: 30 * time.Millisecond, CheckpointEvery: time.Hour})
	before := j.Checkpoints()
	commitN(t, j, "slow", 32, 4)
	commits, _ := j.Stats()
	if got := j.Checkpoints() - before; got > 1 {
		t.Fatalf("%d checkpoints during %d group commits of a continuous load, want at most 1 (the WAL holds them)", got, commits)
	}
}

// A station state is saved at every scan: it rides in the WAL like a transaction (one
// fdatasync of one block) instead of a bbolt commit of its own, and survives a power cut
// from the WAL alone.
func TestAStationStateIsDurableInTheWALWithoutACheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	before := j.Checkpoints()
	if err := j.PutStationStates(map[string][]byte{"dock1": []byte(`{"doc":"open"}`), "dock2": []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := j.PutStationStates(map[string][]byte{"dock2": nil}); err != nil {
		t.Fatal(err)
	}
	if got := j.Checkpoints() - before; got != 0 {
		t.Fatalf("saving station states took %d checkpoints, want 0 (the WAL makes them durable)", got)
	}
	crashed := crashCopy(t, path)
	r := mustOpenAt(t, crashed, edge.Options{})
	states, err := r.StationStates()
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || string(states["dock1"]) != `{"doc":"open"}` {
		t.Fatalf("station states after a crash: %q, want only dock1's", states)
	}
	if err := r.PutStationStates(map[string][]byte{"": []byte("x")}); err == nil {
		t.Fatal("an empty station key was accepted")
	}
}

// The uplink acks every few hundred transactions: an ack rides in the WAL like a
// transaction, rejections and all, instead of a bbolt commit of its own.
func TestAnAckIsDurableInTheWALWithoutACheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "depotd.db")
	j := walOnly(t, path, edge.Options{})
	commitN(t, j, "a", 3, 1)
	before := j.Checkpoints()
	if _, err := j.Ack(edge.Ack{UptoSeq: 2, Rejected: []edge.Rejection{{Seq: 1, Code: "E1", Message: "no"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 9}); !errors.Is(err, edge.ErrAckBeyondLast) {
		t.Fatalf("ack beyond last: %v, want ErrAckBeyondLast", err)
	}
	if got := j.Checkpoints() - before; got != 0 {
		t.Fatalf("acking took %d checkpoints, want 0 (the WAL makes it durable)", got)
	}
	r := mustOpenAt(t, crashCopy(t, path), edge.Options{})
	if _, acked := r.Positions(); acked != 2 {
		t.Fatalf("acked_seq after a crash %d, want 2", acked)
	}
	excs, err := r.Exceptions(false, 10)
	if err != nil || len(excs) != 1 || excs[0].Seq != 1 || excs[0].Kind != edge.ExcERPRejected {
		t.Fatalf("exceptions after a crash: %+v %v, want seq 1's rejection", excs, err)
	}
	// The time the ack came rides with it: sync health's latency needs it after a crash too.
	var marks []edge.AckMark
	if err := r.AckMarks(context.Background(), 1, func(m edge.AckMark) error { marks = append(marks, m); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(marks) != 1 || marks[0].UptoSeq != 2 || marks[0].At.IsZero() {
		t.Fatalf("ack marks after a crash: %+v, want one for upto_seq 2 with its time", marks)
	}
}

// Exceptions raised with transactions and by acks' rejections in the same group commits
// number on from each other: no id is given twice.
func TestExceptionsOfAcksAndTransactionsInOneGroupGetDistinctIDs(t *testing.T) {
	j := walOnly(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{})
	commitN(t, j, "base", 40, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				tx := receipt(txID(fmt.Sprintf("raise-%d", w), i), "")
				if _, _, err := j.CommitRaising(context.Background(), tx, []edge.Exception{{Kind: edge.ExcERPRejected, Message: "raised"}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Go(func() {
		for s := uint64(1); s <= 40; s++ {
			if _, err := j.Ack(edge.Ack{UptoSeq: s, Rejected: []edge.Rejection{{Seq: s, Code: "E", Message: "x"}}}); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	excs, err := j.Exceptions(false, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(excs) != 80 {
		t.Fatalf("%d exceptions, want 80 (40 raised, 40 rejections)", len(excs))
	}
	seen := map[uint64]bool{}
	for _, e := range excs {
		if seen[e.ID] {
			t.Fatalf("exception id %d given twice", e.ID)
		}
		seen[e.ID] = true
	}
}
