package erpcore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// batchLedger is the ledger with ApplyBatch: each seq of a batch applied as Apply would,
// in order, stopping at the first that fails.
type batchLedger struct {
	*ledger
	bmu     sync.Mutex
	batches [][]uint64
	// stopAt, when set, is asked before each seq of a batch: a non-nil error stops the
	// batch there, with the seqs before it committed.
	stopAt func(seq uint64) error
}

func (b *batchLedger) ApplyBatch(ctx context.Context, txs []erpcore.Tx) ([]erpcore.Result, error) {
	b.bmu.Lock()
	var s []uint64
	for _, tx := range txs {
		s = append(s, tx.Seq)
	}
	b.batches = append(b.batches, s)
	stopAt := b.stopAt
	b.bmu.Unlock()
	var out []erpcore.Result
	for _, tx := range txs {
		if stopAt != nil {
			if err := stopAt(tx.Seq); err != nil {
				return out, err
			}
		}
		r, err := b.Apply(ctx, tx)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (b *batchLedger) handed() [][]uint64 {
	b.bmu.Lock()
	defer b.bmu.Unlock()
	return slices.Clone(b.batches)
}

// A backlog is handed to a BatchApplier as consecutive runs of at most MaxBatch buffered
// seqs, in seq order; a batch that stops at a seq on a transient failure is acknowledged
// up to the seq before it and nothing more, and is handed again from that seq.
func TestABacklogIsHandedInBatchesInOrderAndAckedOnlyUpToTheLastCommitted(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := &batchLedger{ledger: newLedger()}
	release := make(chan struct{})
	l.hold = func(tx erpcore.Tx) chan struct{} {
		if tx.Seq == 1 {
			return release
		}
		return nil
	}
	var mu sync.Mutex
	down := true
	l.stopAt = func(seq uint64) error {
		mu.Lock()
		defer mu.Unlock()
		if seq == 15 && down {
			return errors.New("odoo: server error (test)")
		}
		return nil
	}
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"}; c.MaxBatch = 10 })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1)
	waitFor(t, 10*time.Second, "seq 1 in the applier", func() bool { c, _ := l.snapshot("D1"); return len(c) == 1 })
	d.send(t, seqs(2, 30)...)
	waitFor(t, 10*time.Second, "the backlog buffered", func() bool { return core.Stats("D1").Received == 30 })
	close(release)
	waitFor(t, 10*time.Second, "the batch stopped at 15", func() bool { return core.Stats("D1").Errors >= 2 })
	// A round trip through the broker: the ack is not just late.
	n := core.Stats("D1").AcksSent
	d.send(t, 3)
	waitFor(t, 10*time.Second, "re-ack", func() bool { return core.Stats("D1").AcksSent > n })
	if w := d.watermark(); w != 14 {
		t.Fatalf("watermark %d while seq 15 was not committed, want 14", w)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	waitFor(t, 10*time.Second, "ack of 30", func() bool { return d.watermark() == 30 })
	if _, moves := l.snapshot("D1"); !equal(moves, seqs(1, 30)) {
		t.Fatalf("moves %v, want 1..30 once each in order", moves)
	}
	var handed []uint64
	batched := false
	for _, bt := range l.handed() {
		if len(bt) > 10 {
			t.Fatalf("a batch of %d seqs, beyond MaxBatch 10: %v", len(bt), bt)
		}
		if !equal(bt, seqs(bt[0], bt[len(bt)-1])) {
			t.Fatalf("a batch of seqs not consecutive: %v", bt)
		}
		batched = batched || len(bt) > 1
		handed = append(handed, bt...)
	}
	if !batched {
		t.Fatalf("the backlog was never batched: %v", l.handed())
	}
	if !slices.IsSorted(dedupRuns(handed)) {
		t.Fatalf("seqs handed out of order: %v", l.handed())
	}
}

// dedupRuns drops the seqs handed again after a batch stopped (they repeat from the seq
// it stopped at, never from before the watermark).
func dedupRuns(s []uint64) []uint64 {
	var out []uint64
	for _, v := range s {
		if len(out) > 0 && v <= out[len(out)-1] {
			continue
		}
		out = append(out, v)
	}
	return out
}

// With MaxBatch 1 (or an Applier without ApplyBatch) every seq is its own call.
func TestMaxBatchOneHandsEachSeqAlone(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := &batchLedger{ledger: newLedger()}
	release := make(chan struct{})
	l.hold = func(tx erpcore.Tx) chan struct{} {
		if tx.Seq == 1 {
			return release
		}
		return nil
	}
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1)
	waitFor(t, 10*time.Second, "seq 1 in the applier", func() bool { c, _ := l.snapshot("D1"); return len(c) == 1 })
	d.send(t, seqs(2, 10)...)
	waitFor(t, 10*time.Second, "the backlog buffered", func() bool { return core.Stats("D1").Received == 10 })
	close(release)
	waitFor(t, 10*time.Second, "ack of 10", func() bool { return d.watermark() == 10 })
	if bt := l.handed(); len(bt) != 0 {
		t.Fatalf("MaxBatch 1 (the default) handed batches: %v", bt)
	}
	if calls, _ := l.snapshot("D1"); !equal(calls, seqs(1, 10)) {
		t.Fatalf("calls %v, want 1..10 one each", calls)
	}
}
