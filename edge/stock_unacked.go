package edge

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// unackedRow is what the transactions above the ack watermark do to one ledger row: their
// net effect (exact, in the ledger's base unit) and how many of them touch it.
type unackedRow struct {
	qty Qty
	txs int
}

// unackedDeltas replays every stored transaction with seq > acked onto an empty ledger of
// deltas. A count applies the delta it recorded at commit (its absolute quantity means
// nothing on a ledger of deltas). The cost is one decode per unacknowledged transaction:
// bounded by the backlog, which the uplink keeps short when it is up.
func unackedDeltas(cat *Catalog, btx *bolt.Tx, acked uint64) (map[stockKey]unackedRow, error) {
	out := map[stockKey]unackedRow{}
	c := btx.Bucket(bucketTx).Cursor()
	for k, v := c.Seek(u64(acked + 1)); k != nil; k, v = c.Next() {
		tx, err := decodeTx(v)
		if err != nil {
			return nil, fmt.Errorf("seq %d: %w", getU64(k), err)
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
				return nil, fmt.Errorf("seq %d: %w", tx.Seq, err)
			}
			for _, row := range o.rows {
				touched[row.key] = touched[row.key].Add(row.rec.Qty.Sub(row.first))
			}
		}
		for key, d := range touched {
			r := out[key]
			r.qty, r.txs = r.qty.Add(d), r.txs+1
			out[key] = r
		}
	}
	return out, nil
}

// fillUnacked sets each row's Unacked and UnackedTxs from the journal, in btx.
func fillUnacked(cat *Catalog, btx *bolt.Tx, rows []StockRow) error {
	acked := getU64(btx.Bucket(bucketMeta).Get(keyAckedSeq))
	d, err := unackedDeltas(cat, btx, acked)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		u := d[stockKey{Item: r.Item, Location: r.Location, Lot: r.Lot, State: r.State}]
		r.Unacked, r.UnackedTxs = u.qty, u.txs
	}
	return nil
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
