package edge_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

var bigNote = strings.Repeat("n", 1900)

// TestQuotaThresholds fills a journal with a small max_db_size: one disk_space exception at
// 80 %, ErrDiskFull at 95 % (with idempotent retries still answered), acks still accepted,
// and posting resumes by itself once pruning frees space.
func TestQuotaThresholds(t *testing.T) {
	clk := newClock()
	const max = 512 << 10
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Now: clk.Now, MaxDBSize: max})
	ctx := context.Background()
	var warnedAt, refusedAt float64
	var lastOK edge.Transaction
	for i := 1; ; i++ {
		if i > 5000 {
			t.Fatal("never refused")
		}
		tx, _, err := j.Commit(ctx, receipt(txID("q", i), bigNote))
		u, uerr := j.DiskUsage()
		if uerr != nil {
			t.Fatal(uerr)
		}
		if err != nil {
			if !errors.Is(err, edge.ErrDiskFull) {
				t.Fatalf("commit %d: %v", i, err)
			}
			refusedAt = u.Fraction
			break
		}
		lastOK = tx
		if warnedAt == 0 && u.Fraction >= edge.QuotaWarn {
			warnedAt = u.Fraction
		}
	}
	if refusedAt < edge.QuotaRefuse {
		t.Fatalf("refused at %.3f, below the %.2f threshold", refusedAt, edge.QuotaRefuse)
	}
	excs, err := j.Exceptions(true, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range excs {
		if e.Kind == edge.ExcDiskSpace {
			n++
			if !strings.Contains(e.Message, "journal.max_db_size") {
				t.Errorf("exception message %q", e.Message)
			}
		}
	}
	if n != 1 || warnedAt < edge.QuotaWarn {
		t.Fatalf("%d disk_space exceptions (warned at %.2f), want exactly 1", n, warnedAt)
	}
	// A retry of a committed transaction still gets its original answer.
	if got, existing, err := j.Commit(ctx, receipt(lastOK.ID, bigNote)); err != nil || !existing || got.Seq != lastOK.Seq {
		t.Fatalf("retry while refusing: %v existing=%v seq=%d want %d", err, existing, got.Seq, lastOK.Seq)
	}
	// Essential work goes on: the ERP acks and snapshots, the pruner frees pages.
	last, _ := j.Positions()
	if _, err := j.Ack(edge.Ack{UptoSeq: last}); err != nil {
		t.Fatalf("ack while refusing: %v", err)
	}
	snapshotAt(t, j, last)
	clk.Add(91 * 24 * time.Hour)
	for {
		r, err := j.Prune(clk.Now().Add(-edge.DefaultRetention), 64)
		if err != nil {
			t.Fatal(err)
		}
		if r.Pruned == 0 {
			break
		}
	}
	// Pruning re-measured: posting is accepted again at once.
	mustCommit(t, j, receipt("after-prune", bigNote))
	if u, _ := j.DiskUsage(); u.Refusing {
		t.Fatalf("still refusing at %.2f", u.Fraction)
	}
}

// TestDiskFull fills a real small filesystem (tmpfs, when mounting is permitted) and a
// simulated one (a write hook, always): ErrDiskFull, no corruption, and posting resumes
// when space returns.
func TestDiskFull(t *testing.T) {
	// Without room for its WAL the journal commits straight to bbolt; with a small WAL,
	// commits go on while the WAL has room although checkpoints fail, and none is lost.
	for _, tc := range []struct {
		name    string
		walSize int64
	}{{"tmpfs", 0}, {"tmpfs-wal", 256 << 10}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
				t.Skipf("mounting a 2 MiB tmpfs is not permitted here (%v: %s); the write-hook subtest simulates ENOSPC instead", err, strings.TrimSpace(string(out)))
			}
			t.Cleanup(func() {
				if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
					t.Errorf("umount %s: %v %s", dir, err, out)
				}
			})
			path := filepath.Join(dir, "depotd.db")
			j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil), WALSize: tc.walSize})
			if err != nil {
				t.Fatal(err)
			}
			// Ballast that is deleted later to give space back.
			ballast := filepath.Join(dir, "ballast")
			if err := os.WriteFile(ballast, make([]byte, 512<<10), 0o600); err != nil {
				t.Fatal(err)
			}
			committed := fillUntilFull(t, j)
			t.Logf("%d committed before ENOSPC", committed)
			if probs := j.Check(); len(probs) > 0 {
				t.Fatalf("check after ENOSPC: %v", probs)
			}
			if err := os.Remove(ballast); err != nil {
				t.Fatal(err)
			}
			// A failed checkpoint is retried after a backoff of at most a second.
			tx := commitWithin(t, j, receipt("after-space", ""), 5*time.Second)
			if tx.Seq != uint64(committed+1) {
				t.Fatalf("seq after space returned %d, want %d", tx.Seq, committed+1)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			j2 := mustOpenAt(t, path, edge.Options{WALSize: tc.walSize})
			if last, _ := j2.Positions(); last != uint64(committed+1) {
				t.Fatalf("after reopen last_seq %d, want %d", last, committed+1)
			}
			for i := 1; i <= committed; i++ {
				if _, err := j2.GetByID(txID("fill", i)); err != nil {
					t.Fatalf("acknowledged %s after reopen: %v", txID("fill", i), err)
				}
			}
		})
	}
	t.Run("write-hook", func(t *testing.T) {
		j := mustOpen(t, nil)
		mustCommit(t, j, receipt("before", ""))
		edge.SetCommitFault(func() error {
			return fmt.Errorf("write /data/depotd.db: %w", syscall.ENOSPC)
		})
		_, _, err := j.Commit(context.Background(), receipt("during", ""))
		edge.SetCommitFault(nil)
		if !errors.Is(err, edge.ErrDiskFull) {
			t.Fatalf("commit on a full disk: %v, want ErrDiskFull", err)
		}
		if tx := mustCommit(t, j, receipt("during", "")); tx.Seq != 2 {
			t.Fatalf("seq after space returned %d, want 2 (a failed commit consumes no seq)", tx.Seq)
		}
	})
}

// commitWithin commits tx, retrying while the journal refuses it for a full disk, until
// the deadline.
func commitWithin(t *testing.T, j *edge.Journal, tx edge.Transaction, d time.Duration) edge.Transaction {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		out, _, err := j.Commit(context.Background(), tx)
		if err == nil {
			return out
		}
		if !errors.Is(err, edge.ErrDiskFull) || time.Now().After(deadline) {
			t.Fatalf("commit %s: %v", tx.ID, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fillUntilFull commits until the filesystem refuses, and returns how many were committed.
func fillUntilFull(t *testing.T, j *edge.Journal) int {
	t.Helper()
	for i := 1; i < 100000; i++ {
		_, _, err := j.Commit(context.Background(), receipt(txID("fill", i), bigNote))
		if err != nil {
			if !errors.Is(err, edge.ErrDiskFull) {
				t.Fatalf("commit %d on a full filesystem: %v, want ErrDiskFull", i, err)
			}
			if !strings.Contains(err.Error(), "full") {
				t.Fatalf("error %q does not say the disk is full", err)
			}
			// A second attempt fails the same way and consumes no seq.
			if _, _, err := j.Commit(context.Background(), receipt(txID("fill", i), bigNote)); !errors.Is(err, edge.ErrDiskFull) {
				t.Fatalf("second commit on a full filesystem: %v", err)
			}
			return i - 1
		}
	}
	t.Fatal("the filesystem never filled")
	return 0
}
