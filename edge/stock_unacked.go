package edge

import (
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// unackedRow is what the transactions above the ack watermark do to one ledger row: their
// net effect (exact, in the ledger's base unit) and how many of them touch it.
type unackedRow struct {
	qty Qty
	txs int
}

// unackedDeltas replays every stored transaction in (from, upto] onto an empty ledger of
// deltas, adding sign times each one's effect to out (sign -1 takes a transaction's
// effect back out). A count applies the delta it recorded at commit (its absolute quantity
// means nothing on a ledger of deltas). The cost is one decode per transaction. It reports
// false when a transaction of the range is no longer stored (pruned).
func unackedDeltas(cat *Catalog, btx *bolt.Tx, from, upto uint64, sign int, out map[stockKey]unackedRow) (bool, error) {
	c := btx.Bucket(bucketTx).Cursor()
	want := from + 1
	for k, v := c.Seek(u64(from + 1)); k != nil && getU64(k) <= upto; k, v = c.Next() {
		if getU64(k) != want {
			return false, nil
		}
		want++
		tx, err := decodeTx(v)
		if err != nil {
			return false, fmt.Errorf("seq %d: %w", getU64(k), err)
		}
		touched := map[stockKey]Qty{}
		if tx.Type == Count {
			for _, l := range tx.Lines {
				if l.Delta == nil || !cat.holdsStock(l.To) {
					continue
				}
				key := stockKey{Item: l.Item, Location: l.To, Lot: l.Lot, State: l.State}
				touched[key] = touched[key].Add(*l.Delta)
			}
		} else {
			o := newOverlay(mapLedger{})
			if err := applyTx(cat, o, &tx, false); err != nil {
				return false, fmt.Errorf("seq %d: %w", tx.Seq, err)
			}
			for _, row := range o.rows {
				touched[row.key] = touched[row.key].Add(row.rec.Qty.Sub(row.first))
			}
		}
		for key, d := range touched {
			r := out[key]
			if sign < 0 {
				r.qty, r.txs = r.qty.Sub(d), r.txs-1
			} else {
				r.qty, r.txs = r.qty.Add(d), r.txs+1
			}
			if r.txs == 0 {
				delete(out, key)
				continue
			}
			out[key] = r
		}
	}
	return want == upto+1, nil
}

// unackedCache keeps the net effect of the transactions in (acked, upto] per ledger row,
// so that a stock view replays only what was committed or acknowledged since the last
// view, not the whole backlog (which an outage makes long). Transactions are immutable
// once stored and seqs only grow, so moving the range forward is exact: new commits are
// added, newly acknowledged ones taken back out.
type unackedCache struct {
	mu          sync.Mutex
	valid       bool
	acked, upto uint64
	rows        map[stockKey]unackedRow
}

// fill sets each row's Unacked and UnackedTxs as of btx.
func (u *unackedCache) fill(cat *Catalog, btx *bolt.Tx, rows []StockRow) error {
	acked := getU64(btx.Bucket(bucketMeta).Get(keyAckedSeq))
	var last uint64
	if k, _ := btx.Bucket(bucketTx).Cursor().Last(); k != nil {
		last = getU64(k)
	}
	last = max(last, acked)
	u.mu.Lock()
	defer u.mu.Unlock()
	d, err := u.deltas(cat, btx, acked, last)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		x := d[stockKey{Item: r.Item, Location: r.Location, Lot: r.Lot, State: r.State}]
		r.Unacked, r.UnackedTxs = x.qty, x.txs
	}
	return nil
}

// deltas returns the effects of (acked, last], moving the cache there when it can.
func (u *unackedCache) deltas(cat *Catalog, btx *bolt.Tx, acked, last uint64) (map[stockKey]unackedRow, error) {
	if u.valid && acked >= u.acked && last >= u.upto && acked <= u.upto && acked-u.acked <= last-acked {
		ok, err := unackedDeltas(cat, btx, u.upto, last, +1, u.rows)
		if err == nil && ok {
			u.upto = last
			ok, err = unackedDeltas(cat, btx, u.acked, acked, -1, u.rows)
		}
		if err == nil && ok {
			u.acked = acked
			return u.rows, nil
		}
		u.valid = false // half moved, or a transaction missing: rebuild
	}
	rows := map[stockKey]unackedRow{}
	ok, err := unackedDeltas(cat, btx, acked, last, +1, rows)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("unacknowledged transactions (%d, %d] are not all stored", acked, last)
	}
	if !u.valid || last >= u.upto {
		// A view older than the cache (a slow concurrent reader) answers without moving it back.
		u.valid, u.acked, u.upto, u.rows = true, acked, last, rows
	}
	return rows, nil
}

// SnapshotInfo describes the ERP's last stock snapshot, as far as the journal knows it.
type SnapshotInfo struct {
	// Has is false until the ERP sent a first snapshot.
	Has bool
	// AppliedSeq is the last depot seq the snapshot includes.
	AppliedSeq uint64
	// At is when the ERP took it (its own "at"), or when depotd applied it when the ERP gave
	// no time; nil for a snapshot applied before depotd recorded the time.
	At *time.Time
}

// StockSnapshotInfo returns what is known of the ERP's last stock snapshot.
func (j *Journal) StockSnapshotInfo() (SnapshotInfo, error) {
	var s SnapshotInfo
	err := j.view(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		s.AppliedSeq = getU64(m.Get(keyAppliedSeq))
		if v := m.Get(keySnapshotAt); v != nil {
			t, err := time.Parse(time.RFC3339Nano, string(v))
			if err != nil {
				return fmt.Errorf("snapshot time %q: %w", v, err)
			}
			s.Has, s.At = true, &t
		}
		if !s.Has {
			// Any key at all: Stats would walk every page of the snapshot to count them.
			first, _ := btx.Bucket(bucketSnapshot).Cursor().First()
			s.Has = s.AppliedSeq > 0 || first != nil
		}
		return nil
	})
	return s, err
}
