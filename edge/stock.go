package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stock returns ledger rows matching f, ordered by item, location, lot, state. Rows at zero
// locally and in the ERP are not kept.
func (j *Journal) Stock(f StockFilter) ([]StockRow, error) { return j.stock(f, j.view) }

// StockCheckpointed is Stock over what the last checkpoint holds: it never asks for one.
// Followers (the replenishment proposer) use it with Checkpointed, so that watching the
// ledger adds no checkpoint to the commit path.
func (j *Journal) StockCheckpointed(f StockFilter) ([]StockRow, error) { return j.stock(f, j.db.View) }

func (j *Journal) stock(f StockFilter, view func(func(*bolt.Tx) error) error) ([]StockRow, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	var out []StockRow
	err := view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketStock).Cursor()
		var k, v []byte
		var prefix []byte
		if f.Item != "" {
			prefix = append([]byte(f.Item), 0)
			k, v = c.Seek(prefix)
		} else {
			k, v = c.First()
		}
		for ; k != nil && len(out) < f.Limit; k, v = c.Next() {
			if prefix != nil && !bytes.HasPrefix(k, prefix) {
				break
			}
			sk, err := parseStockKey(k)
			if err != nil {
				return err
			}
			if (f.Location != "" && sk.Location != f.Location) || (f.Lot != "" && sk.Lot != f.Lot) || (f.State != "" && sk.State != f.State) {
				continue
			}
			var r stockRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("stock row %q: %w", k, err)
			}
			out = append(out, StockRow{Item: sk.Item, Location: sk.Location, Lot: sk.Lot, State: sk.State,
				Qty: r.Qty, ERPQty: r.ERP, Pending: r.Qty.Sub(r.ERP)})
		}
		return j.unacked.fill(j.cat, btx, out)
	})
	return out, err
}

// ApplyStockSnapshot replaces the ERP side of the ledger with s and replays every local
// transaction with seq > s.AppliedSeq on top, in one commit. A snapshot older than the one
// applied, or claiming seqs never committed, is refused.
func (j *Journal) ApplyStockSnapshot(s StockSnapshot) error {
	for i, r := range s.Rows {
		p := fmt.Sprintf("rows[%d]", i)
		if fe := checkText(p+".item", r.Item, maxTextLen, true); fe != nil {
			return fe
		}
		if fe := checkText(p+".lot", r.Lot, maxTextLen, false); fe != nil {
			return fe
		}
		if !j.cat.holdsStock(r.Location) {
			return fieldErr(p+".location", "unknown or virtual location %q", r.Location)
		}
		if r.State == "" {
			s.Rows[i].State = Available
		} else if !r.State.Valid() {
			return fieldErr(p+".state", "unknown state %q", r.State)
		}
	}
	return j.update(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		last, applied := getU64(m.Get(keyLastSeq)), getU64(m.Get(keyAppliedSeq))
		if s.AppliedSeq > last {
			return fmt.Errorf("%w: snapshot applied_seq %d, last committed seq %d", ErrAckBeyondLast, s.AppliedSeq, last)
		}
		if s.AppliedSeq < applied {
			return fmt.Errorf("stale stock snapshot: applied_seq %d is older than the applied %d", s.AppliedSeq, applied)
		}
		for _, name := range [][]byte{bucketStock, bucketSnapshot} {
			if err := btx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := btx.CreateBucket(name); err != nil {
				return err
			}
		}
		snap, led := btx.Bucket(bucketSnapshot), &boltLedger{b: btx.Bucket(bucketStock), w: direct{btx}}
		for _, r := range s.Rows {
			k := stockKey{Item: r.Item, Location: r.Location, Lot: r.Lot, State: r.State}
			prev, err := led.get(k)
			if err != nil {
				return err
			}
			q := prev.ERP.Add(r.Qty) // a snapshot may list a row twice; they add up
			if err := led.put(k, stockRec{ERP: q, Qty: q}); err != nil {
				return err
			}
			if err := snap.Put(k.bytes(), []byte(q.String())); err != nil {
				return err
			}
		}
		if err := replayOnto(j.cat, btx, s.AppliedSeq, led); err != nil {
			return err
		}
		at := j.now()
		if s.At != nil {
			at = *s.At
		}
		if err := m.Put(keySnapshotAt, []byte(at.UTC().Format(time.RFC3339Nano))); err != nil {
			return err
		}
		return m.Put(keyAppliedSeq, u64(s.AppliedSeq))
	})
}

// replayOnto applies every stored transaction with seq > after to led, in seq order.
func replayOnto(cat *Catalog, btx *bolt.Tx, after uint64, led ledger) error {
	c := btx.Bucket(bucketTx).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		tx, err := decodeTx(v)
		if err != nil {
			return fmt.Errorf("seq %d: %w", getU64(k), err)
		}
		o := newOverlay(led)
		if err := applyTx(cat, o, &tx, false); err != nil {
			return fmt.Errorf("replay seq %d: %w", tx.Seq, err)
		}
		if err := o.flush(); err != nil {
			return err
		}
	}
	return nil
}
