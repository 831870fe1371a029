package edge_test

import (
	"context"
	"fmt"
	"math/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

// TestJournalQueryMatchesModel commits random transactions and checks every query against a
// brute-force filter of the same transactions: paging with any budget must return exactly
// the matching entries, newest first, each once.
func TestJournalQueryMatchesModel(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	var clock atomic.Int64
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	j, err := edge.Open(t.TempDir()+"/q.db", edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil),
		Now: func() time.Time { return base.Add(time.Duration(clock.Load()) * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	types := []edge.TxType{edge.Receipt, edge.Issue, edge.Transfer}
	stations := []string{"", "dock-1", "dock-2"}
	ops := []string{"", "olivia", "sam"}
	items := []string{"SKU-1", "SKU-2", "SKU-3", "SKU-\"4\""}
	var all []edge.Transaction
	for i := 0; i < 600; i++ {
		clock.Add(int64(rng.Intn(30)))
		tx := edge.Transaction{ID: fmt.Sprintf("t%d", i), Type: types[rng.Intn(len(types))], Station: stations[rng.Intn(3)], Operator: ops[rng.Intn(3)]}
		for n := rng.Intn(3) + 1; n > 0; n-- {
			l := edge.Line{Item: items[rng.Intn(len(items))], Qty: edge.QtyFromInt(int64(rng.Intn(5) + 1))}
			switch tx.Type {
			case edge.Receipt:
				l.To = "Van-1"
			case edge.Issue:
				l.From = "Van-1"
			default:
				l.From, l.To = "Van-1", "Transit"
			}
			tx.Lines = append(tx.Lines, l)
		}
		got, _, err := j.Commit(context.Background(), tx)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, got)
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 400, Rejected: []edge.Rejection{{Seq: 17, Code: "X"}, {Seq: 230, Code: "Y"}, {Seq: 399, Code: "Z"}}}); err != nil {
		t.Fatal(err)
	}
	syncOf := func(seq uint64) edge.SyncState {
		switch {
		case seq > 400:
			return edge.SyncPending
		case seq == 17 || seq == 230 || seq == 399:
			return edge.SyncRejected
		}
		return edge.SyncAcked
	}
	for n := 0; n < 60; n++ {
		q := edge.JournalQuery{Limit: rng.Intn(40) + 1, MaxScan: []int{5, 50, 300, 0}[rng.Intn(4)]}
		if rng.Intn(2) == 0 {
			q.Type = types[rng.Intn(len(types))]
		}
		if rng.Intn(3) == 0 {
			q.Station = stations[1+rng.Intn(2)]
		}
		if rng.Intn(3) == 0 {
			q.Operator = ops[1+rng.Intn(2)]
		}
		if rng.Intn(2) == 0 {
			q.Item = items[rng.Intn(len(items))]
		}
		if rng.Intn(3) == 0 {
			q.Sync = []edge.SyncState{edge.SyncPending, edge.SyncAcked, edge.SyncRejected}[rng.Intn(3)]
		}
		if rng.Intn(3) == 0 {
			q.From = all[rng.Intn(len(all))].At.Add(-time.Duration(rng.Intn(3)) * time.Minute)
		}
		if rng.Intn(3) == 0 {
			q.To = all[rng.Intn(len(all))].At.Add(time.Duration(rng.Intn(3)) * time.Minute)
		}
		var want []uint64
		for i := len(all) - 1; i >= 0; i-- {
			tx := all[i]
			if q.Type != "" && tx.Type != q.Type || q.Station != "" && tx.Station != q.Station || q.Operator != "" && tx.Operator != q.Operator {
				continue
			}
			if q.Sync != "" && syncOf(tx.Seq) != q.Sync {
				continue
			}
			if !q.From.IsZero() && tx.At.Before(q.From) || !q.To.IsZero() && !tx.At.Before(q.To) {
				continue
			}
			if q.Item != "" {
				found := false
				for _, l := range tx.Lines {
					found = found || l.Item == q.Item
				}
				if !found {
					continue
				}
			}
			want = append(want, tx.Seq)
		}
		var got []uint64
		pages := 0
		for {
			p, err := j.Query(q)
			if err != nil {
				t.Fatalf("query %+v: %v", q, err)
			}
			if len(p.Entries) > q.Limit {
				t.Fatalf("page of %d entries, limit %d", len(p.Entries), q.Limit)
			}
			for _, e := range p.Entries {
				if e.Sync != syncOf(e.Seq) {
					t.Fatalf("seq %d sync %s, want %s", e.Seq, e.Sync, syncOf(e.Seq))
				}
				got = append(got, e.Seq)
			}
			if p.Next == 0 {
				break
			}
			if q.Before != 0 && p.Next >= q.Before {
				t.Fatalf("cursor did not move: %d then %d", q.Before, p.Next)
			}
			q.Before = p.Next
			if pages++; pages > 2000 {
				t.Fatal("paging does not end")
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("query %+v:\n got %v\nwant %v", q, got, want)
		}
	}
	if _, err := j.Query(edge.JournalQuery{Sync: "lost"}); err == nil {
		t.Fatal("unknown sync state accepted")
	}
}

// TestJournalQueryAfterPrune: retention removes the oldest entries; date bounds and the
// rejected filter must still work over what is left.
func TestJournalQueryAfterPrune(t *testing.T) {
	var clock atomic.Int64
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	j, err := edge.Open(t.TempDir()+"/p.db", edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil),
		Now: func() time.Time { return base.Add(time.Duration(clock.Add(1)) * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 0; i < 50; i++ {
		mustCommit(t, j, edge.Transaction{ID: fmt.Sprintf("t%d", i), Type: edge.Receipt, Lines: []edge.Line{line("SKU-1", "1", "", "Van-1")}})
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 40, Rejected: []edge.Rejection{{Seq: 5, Code: "X"}, {Seq: 30, Code: "Y"}}}); err != nil {
		t.Fatal(err)
	}
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 40, Rows: []edge.StockSnapshotRow{{Item: "SKU-1", Location: "Van-1", Qty: edge.QtyFromInt(40)}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := j.Prune(base.Add(365*24*time.Hour), 20); err != nil || res.Pruned != 20 {
		t.Fatalf("prune: %+v %v", res, err)
	}
	p, err := j.Query(edge.JournalQuery{From: base, Limit: 100})
	if err != nil || len(p.Entries) != 30 || p.Entries[29].Seq != 21 {
		t.Fatalf("after prune: %d entries, %v", len(p.Entries), err)
	}
	p, err = j.Query(edge.JournalQuery{Sync: edge.SyncRejected})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Seq != 30 {
		t.Fatalf("rejected after prune: %+v %v", p.Entries, err)
	}
}
