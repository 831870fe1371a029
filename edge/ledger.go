package edge

import (
	"fmt"
	"time"
)

// ledger is the stock a transaction is applied to: bbolt at commit, a map in checks.
type ledger interface {
	get(k stockKey) (stockRec, error)
	put(k stockKey, r stockRec) error
}

// stockChange is one effect of a transaction on one ledger row.
type stockChange struct {
	key    stockKey
	before Qty
	after  Qty
	line   int
}

// overlay stages a transaction's effects so that a refused transaction writes nothing and
// lines touching the same row see each other. A transaction touches few rows: they are
// found by scanning, and by an index only once there are many.
type overlay struct {
	base  ledger
	rows  []stagedRow // in the order first touched
	index map[stockKey]int
}

type stagedRow struct {
	key   stockKey
	rec   stockRec
	first Qty // quantity before this transaction
	line  int // the last line that touched it
}

const overlayScan = 16

func newOverlay(base ledger) *overlay { return &overlay{base: base} }

func (o *overlay) find(k stockKey) int {
	if o.index != nil {
		if i, ok := o.index[k]; ok {
			return i
		}
		return -1
	}
	for i := range o.rows {
		if o.rows[i].key == k {
			return i
		}
	}
	return -1
}

func (o *overlay) get(k stockKey) (stockRec, error) {
	if i := o.find(k); i >= 0 {
		return o.rows[i].rec, nil
	}
	return o.base.get(k)
}

func (o *overlay) add(k stockKey, d Qty, line int) error {
	i := o.find(k)
	if i < 0 {
		r, err := o.base.get(k)
		if err != nil {
			return err
		}
		i = len(o.rows)
		o.rows = append(o.rows, stagedRow{key: k, rec: r, first: r.Qty})
		if o.index != nil {
			o.index[k] = i
		} else if len(o.rows) > overlayScan {
			o.index = make(map[stockKey]int, 2*len(o.rows))
			for j, row := range o.rows {
				o.index[row.key] = j
			}
		}
	}
	row := &o.rows[i]
	row.rec.Qty = row.rec.Qty.Add(d)
	row.line = line
	return nil
}

func (o *overlay) flush() error {
	for _, row := range o.rows {
		if err := o.base.put(row.key, row.rec); err != nil {
			return err
		}
	}
	return nil
}

// negatives lists the rows this transaction lowered below zero.
func (o *overlay) negatives() []stockChange {
	var out []stockChange
	for _, row := range o.rows {
		if after := row.rec.Qty; after.Sign() < 0 && after.LessThan(row.first) {
			out = append(out, stockChange{key: row.key, before: row.first, after: after, line: row.line})
		}
	}
	return out
}

// applyTx stages tx's effects on o. For counts it fills each line's Expected and Delta when
// fill is true (at commit); on replay the stored values are left alone and the count is
// applied as the absolute quantity it is.
func applyTx(c *Catalog, o *overlay, tx *Transaction, fill bool) error {
	for i := range tx.Lines {
		l := &tx.Lines[i]
		q := l.Qty
		if l.BaseQty != nil {
			q = *l.BaseQty
		}
		move := func(loc string, st StockState, d Qty) error {
			if !c.holdsStock(loc) {
				return nil
			}
			return o.add(stockKey{Item: l.Item, Location: loc, Lot: l.Lot, State: st}, d, i)
		}
		var err error
		switch tx.Type {
		case Receipt, Issue, Transfer, Return, Scrap:
			to := l.State
			if l.ToState != "" {
				to = l.ToState
			}
			if err = move(l.From, l.State, q.Neg()); err == nil {
				err = move(l.To, to, q)
			}
		case StatusMove:
			if err = move(l.From, l.State, q.Neg()); err == nil {
				err = move(l.From, l.ToState, q)
			}
		case Adjustment:
			err = move(l.To, l.State, q)
		case Count:
			k := stockKey{Item: l.Item, Location: l.To, Lot: l.Lot, State: l.State}
			var r stockRec
			if r, err = o.get(k); err != nil {
				break
			}
			delta := q.Sub(r.Qty)
			if fill {
				exp := r.Qty
				l.Expected, l.Delta = &exp, &delta
			}
			err = move(l.To, l.State, delta)
		default:
			err = fmt.Errorf("unknown transaction type %q", tx.Type)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// mapLedger is an in-memory ledger for replay checks and tests.
type mapLedger map[stockKey]stockRec

func (m mapLedger) get(k stockKey) (stockRec, error) { return m[k], nil }
func (m mapLedger) put(k stockKey, r stockRec) error { m[k] = r; return nil }

// StockRow is one ledger row as the API shows it.
type StockRow struct {
	Item     string     `json:"item"`
	Location string     `json:"location"`
	Lot      string     `json:"lot"`
	State    StockState `json:"state"`
	Qty      Qty        `json:"qty"`
	ERPQty   Qty        `json:"erp_qty"`
	// Pending is the local quantity minus the ERP's last snapshot: what the ERP has not
	// counted into a snapshot yet, acknowledged or not. It is not a backlog.
	Pending Qty `json:"pending_qty"`
	// Unacked is the net effect of the transactions the ERP has not acknowledged yet
	// (seq above the ack watermark) on this row, and UnackedTxs how many touch it.
	Unacked    Qty `json:"unacked_qty"`
	UnackedTxs int `json:"unacked_txs"`
}

// StockFilter selects ledger rows; empty fields match everything.
type StockFilter struct {
	Item, Location, Lot string
	State               StockState
	Limit               int
}

// StockSnapshot is the ERP's view of the depot's stock after it applied every depot seq up
// to AppliedSeq. Rows replace the ERP side of the ledger.
type StockSnapshot struct {
	V          int                `json:"v"`
	AppliedSeq uint64             `json:"applied_seq"`
	At         *time.Time         `json:"at,omitempty"`
	Rows       []StockSnapshotRow `json:"rows"`
}

// StockSnapshotRow is one row of an ERP snapshot.
type StockSnapshotRow struct {
	Item     string     `json:"item"`
	Location string     `json:"location"`
	Lot      string     `json:"lot,omitempty"`
	State    StockState `json:"state,omitempty"`
	Qty      Qty        `json:"qty"`
}
