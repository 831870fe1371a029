package edge_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// TestPruneRespectsAckAndSnapshot: only seqs ≤ min(acked_seq, applied_seq) older than the
// retention are pruned; the outbox and young transactions stay.
func TestPruneRespectsAckAndSnapshot(t *testing.T) {
	clk := newClock()
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Now: clk.Now})
	for i := 1; i <= 100; i++ {
		mustCommit(t, j, receipt(txID("a", i), ""))
	}
	clk.Add(24 * time.Hour)
	for i := 1; i <= 20; i++ {
		mustCommit(t, j, receipt(txID("b", i), "")) // seqs 101..120, one day younger
	}
	before := clk.Now().Add(-12 * time.Hour) // a retention that expires only the first 100
	cases := []struct {
		name           string
		acked, applied uint64
		want           uint64
		blocked        bool
	}{
		{"nothing acknowledged", 0, 0, 0, true},
		{"acked but not in a snapshot", 60, 0, 0, true},
		{"snapshot ahead of the ack", 60, 80, 60, true},
		{"ack ahead of the snapshot", 90, 80, 80, true},
		{"both past the young ones: age decides", 120, 120, 100, false},
	}
	for _, c := range cases {
		if c.acked > 0 {
			if _, err := j.Ack(edge.Ack{UptoSeq: c.acked}); err != nil {
				t.Fatal(err)
			}
		}
		if c.applied > 0 {
			snapshotAt(t, j, c.applied)
		}
		var res edge.PruneResult
		for {
			r, err := j.Prune(before, 7)
			if err != nil {
				t.Fatal(err)
			}
			res = r
			if r.Pruned == 0 {
				break
			}
		}
		if res.UpTo != c.want {
			t.Errorf("%s: pruned up to %d, want %d", c.name, res.UpTo, c.want)
		}
		if c.blocked != (res.Blocked != "") {
			t.Errorf("%s: blocked %q", c.name, res.Blocked)
		}
		if probs := j.Check(); len(probs) > 0 {
			t.Fatalf("%s: check: %v", c.name, probs)
		}
		if _, err := j.Get(c.want + 1); err != nil {
			t.Errorf("%s: seq %d must remain: %v", c.name, c.want+1, err)
		}
		if c.want > 0 {
			if _, err := j.Get(c.want); !errors.Is(err, edge.ErrNotFound) {
				t.Errorf("%s: seq %d should be pruned: %v", c.name, c.want, err)
			}
			if _, err := j.GetByID(txID("a", int(c.want))); !errors.Is(err, edge.ErrNotFound) {
				t.Errorf("%s: id index entry of seq %d should be pruned: %v", c.name, c.want, err)
			}
		}
	}
	// Seqs continue after pruning, and a reopen keeps pruned_seq.
	if tx := mustCommit(t, j, receipt("after", "")); tx.Seq != 121 {
		t.Fatalf("seq after pruning %d, want 121", tx.Seq)
	}
}

// TestPruneUnderConcurrentPosting prunes while writers post: every acknowledged
// transaction ends pruned, every posted one keeps its seq, the journal checks clean.
func TestPruneUnderConcurrentPosting(t *testing.T) {
	clk := newClock()
	j := mustOpenAt(t, filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Now: clk.Now})
	const old = 1500
	for i := 1; i <= old; i++ {
		mustCommit(t, j, receipt(txID("old", i), ""))
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: old}); err != nil {
		t.Fatal(err)
	}
	snapshotAt(t, j, old)
	clk.Add(91 * 24 * time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[uint64]string{}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				id := txID("new", w*1000+i)
				tx, _, err := j.Commit(ctx, receipt(id, ""))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs[tx.Seq] = id
				mu.Unlock()
			}
		}()
	}
	cfg := edge.JournalConfig{PruneInterval: time.Hour, PruneBatch: 64}
	pruneCtx, stopPrune := context.WithCancel(context.Background())
	pruneDone := make(chan error, 1)
	go func() { pruneDone <- j.RunRetention(pruneCtx, cfg) }()
	deadline := time.After(30 * time.Second)
	for {
		p, err := j.PrunedSeq()
		if err != nil {
			t.Fatal(err)
		}
		if p == old {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("pruned only up to %d of %d", p, old)
		case <-j.Committed():
		case <-time.After(20 * time.Millisecond):
		}
	}
	wg.Wait()
	stopPrune()
	if err := <-pruneDone; err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 600 {
		t.Fatalf("%d transactions posted, want 600", len(seqs))
	}
	for seq, id := range seqs {
		got, err := j.Get(seq)
		if err != nil || got.ID != id {
			t.Fatalf("seq %d: %v %q, want %q", seq, err, got.ID, id)
		}
	}
	if last, _ := j.Positions(); last != old+600 {
		t.Fatalf("last_seq %d", last)
	}
}

func TestJournalConfigCheck(t *testing.T) {
	cases := []struct {
		name string
		cfg  edge.JournalConfig
		keys []string
	}{
		{"defaults", edge.JournalConfig{}, nil},
		{"short retention", edge.JournalConfig{Retention: time.Minute}, []string{"journal.retention"}},
		{"tiny quota", edge.JournalConfig{MaxDBSize: 4096}, []string{"journal.max_db_size"}},
		{"bad batch and interval", edge.JournalConfig{PruneBatch: 20000, PruneInterval: time.Millisecond}, []string{"journal.prune_interval", "journal.prune_batch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.ApplyDefaults()
			var got []string
			c.cfg.Check("journal", func(k, msg string) { got = append(got, k) })
			if len(got) != len(c.keys) {
				t.Fatalf("problems at %v, want %v", got, c.keys)
			}
			for i := range got {
				if got[i] != c.keys[i] {
					t.Fatalf("problems at %v, want %v", got, c.keys)
				}
			}
		})
	}
	var d edge.JournalConfig
	d.ApplyDefaults()
	if d.Retention != 90*24*time.Hour || d.MaxDBSize != 1<<30 {
		t.Fatalf("defaults %+v", d)
	}
}
