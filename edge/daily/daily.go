package daily

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/depotd/depotd/edge"
)

// Source is what the board reads; *edge.Journal satisfies it.
type Source interface {
	Stock(f edge.StockFilter) ([]edge.StockRow, error)
	Documents() (edge.MasterDocuments, error)
	Scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error
}

// DefaultLeadTime is how long stock may be in transit before the board lists it.
const DefaultLeadTime = 48 * time.Hour

// Row kinds.
const (
	KindNegative  = "negative_stock"
	KindOverdue   = "overdue_receipt"
	KindTransit   = "in_transit_too_long"
	KindReserved  = "reserved_above_on_hand"
	RoleSuper     = "supervisor"
	RolePurchase  = "purchasing"
	RoleReceiving = "receiving operator"
)

// Action is a link to act on a row.
type Action struct {
	Label string `json:"label"`
	// Post pre-fills the console's post form (query parameters of /post).
	Post map[string]string `json:"post,omitempty"`
	// Stock filters the stock page (query parameters of /stock).
	Stock map[string]string `json:"stock,omitempty"`
	// Seq links a journal entry.
	Seq uint64 `json:"seq,omitempty"`
	// Document links the ERP document with this ref.
	Document string `json:"document,omitempty"`
}

// Row is one exception on the board.
type Row struct {
	Kind     string `json:"kind"`
	Item     string `json:"item,omitempty"`
	Location string `json:"location,omitempty"`
	Lot      string `json:"lot,omitempty"`
	Ref      string `json:"ref,omitempty"`
	// Qty is the quantity at fault; for an overdue receipt, which spans items, Lines says
	// how many of its lines are still open instead.
	Qty     edge.Qty  `json:"qty"`
	Lines   int       `json:"lines,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	What    string    `json:"what"`
	Who     string    `json:"who"`
	Actions []Action  `json:"actions"`
}

// Board is the depot's daily exceptions, most urgent kind first (negative stock, overdue
// receipts, transit, reservations), each kind in a stable order.
type Board struct {
	At       time.Time     `json:"at"`
	LeadTime time.Duration `json:"lead_time"`
	Rows     []Row         `json:"rows"`
}

// Build computes the board at now. leadTime 0 is DefaultLeadTime.
func Build(ctx context.Context, src Source, now time.Time, leadTime time.Duration) (Board, error) {
	if leadTime <= 0 {
		leadTime = DefaultLeadTime
	}
	b := Board{At: now, LeadTime: leadTime, Rows: []Row{}}
	rows, err := src.Stock(edge.StockFilter{})
	if err != nil {
		return b, fmt.Errorf("read stock: %w", err)
	}
	docs, err := src.Documents()
	if err != nil {
		return b, err
	}
	j, err := scanJournal(ctx, src)
	if err != nil {
		return b, err
	}
	for _, r := range rows {
		if r.Qty.Sign() >= 0 {
			continue
		}
		post := map[string]string{"type": string(edge.Count), "item": r.Item, "to": r.Location, "lot": r.Lot}
		if r.State != edge.Available {
			post["state"] = string(r.State)
		}
		b.Rows = append(b.Rows, Row{Kind: KindNegative, Item: r.Item, Location: r.Location, Lot: r.Lot, Qty: r.Qty,
			What: fmt.Sprintf("%s at %s is %s (%s): more left than the depot recorded coming in", r.Item, r.Location, r.Qty, r.State),
			Who:  RoleSuper,
			Actions: []Action{{Label: "count it", Post: post},
				{Label: "see its stock", Stock: map[string]string{"item": r.Item, "location": r.Location}}}})
	}
	var overdue []Row
	for _, d := range docs.Documents {
		if d.Kind != edge.DocReceipt || d.Scheduled.IsZero() || !d.Scheduled.Before(now) || j.answered[edge.Receipt][d.Ref] {
			continue
		}
		open := 0
		for _, l := range d.Lines {
			if l.Open().Sign() > 0 {
				open++
			}
		}
		if open == 0 {
			continue
		}
		who := RolePurchase
		what := fmt.Sprintf("%s was expected %s ago and is not received here", d.Ref, age(now.Sub(d.Scheduled)))
		if d.Partner != "" {
			what += " (" + d.Partner
			if d.Origin != "" {
				what += ", " + d.Origin
			}
			what += ")"
		}
		overdue = append(overdue, Row{Kind: KindOverdue, Ref: d.Ref, Lines: open, Since: d.Scheduled, What: what,
			Who:     who + "; " + RoleReceiving + " if the goods are here",
			Actions: []Action{{Label: "receive it", Post: map[string]string{"doc": d.Ref}}, {Label: "see the document", Document: d.Ref}}})
	}
	sort.Slice(overdue, func(a, c int) bool { return overdue[a].Since.Before(overdue[c].Since) })
	b.Rows = append(b.Rows, overdue...)
	b.Rows = append(b.Rows, transitRows(rows, j, now, leadTime)...)
	b.Rows = append(b.Rows, reservedRows(rows, docs, j)...)
	return b, nil
}

// journalFacts is what the board needs from the journal.
type journalFacts struct {
	answered map[edge.TxType]map[string]bool // refs of receipts and issues posted
	transit  map[key][]lot                   // in_transit quantities not yet left, oldest first
}

type key struct{ item, location, lot string }

type lot struct {
	at  time.Time
	qty edge.Qty
	seq uint64
}

func scanJournal(ctx context.Context, src Source) (journalFacts, error) {
	f := journalFacts{answered: map[edge.TxType]map[string]bool{edge.Receipt: {}, edge.Issue: {}}, transit: map[key][]lot{}}
	err := src.Scan(ctx, 0, func(seq uint64, raw []byte) error {
		var tx edge.Transaction
		if err := json.Unmarshal(raw, &tx); err != nil {
			return fmt.Errorf("journal entry %d unreadable: %w", seq, err)
		}
		if tx.Ref != "" && f.answered[tx.Type] != nil {
			f.answered[tx.Type][tx.Ref] = true
		}
		for _, l := range tx.Lines {
			f.transitLine(tx, seq, l)
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("scan journal: %w", err)
	}
	return f, nil
}

// transitLine applies a line's effect on in_transit stock, as the ledger applies it.
func (f *journalFacts) transitLine(tx edge.Transaction, seq uint64, l edge.Line) {
	q := l.Qty
	if l.BaseQty != nil {
		q = *l.BaseQty
	}
	state := func(s edge.StockState) edge.StockState {
		if s == "" {
			return edge.Available
		}
		return s
	}
	var at time.Time
	if tx.At != nil {
		at = *tx.At
	}
	from, to := state(l.State), state(l.State)
	if l.ToState != "" {
		to = l.ToState
	}
	switch tx.Type {
	case edge.Receipt, edge.Issue, edge.Transfer, edge.Return, edge.Scrap:
		if from == edge.InTransit && l.From != "" {
			f.take(key{l.Item, l.From, l.Lot}, q)
		}
		if to == edge.InTransit && l.To != "" {
			f.put(key{l.Item, l.To, l.Lot}, at, q, seq)
		}
	case edge.StatusMove:
		if from == edge.InTransit {
			f.take(key{l.Item, l.From, l.Lot}, q)
		}
		if to == edge.InTransit {
			f.put(key{l.Item, l.From, l.Lot}, at, q, seq)
		}
	case edge.Adjustment, edge.Count:
		d := q
		if tx.Type == edge.Count {
			if l.Delta == nil {
				return
			}
			d = *l.Delta
		}
		if from != edge.InTransit {
			return
		}
		if d.Sign() > 0 {
			f.put(key{l.Item, l.To, l.Lot}, at, d, seq)
		} else {
			f.take(key{l.Item, l.To, l.Lot}, d.Neg())
		}
	}
}

func (f *journalFacts) put(k key, at time.Time, q edge.Qty, seq uint64) {
	if q.Sign() <= 0 {
		f.take(k, q.Neg())
		return
	}
	f.transit[k] = append(f.transit[k], lot{at: at, qty: q, seq: seq})
}

// take uses up the oldest quantities first.
func (f *journalFacts) take(k key, q edge.Qty) {
	ls := f.transit[k]
	for len(ls) > 0 && q.Sign() > 0 {
		if ls[0].qty.Cmp(q) > 0 {
			ls[0].qty = ls[0].qty.Sub(q)
			q = edge.Qty{}
			break
		}
		q = q.Sub(ls[0].qty)
		ls = ls[1:]
	}
	f.transit[k] = ls
}

func transitRows(rows []edge.StockRow, j journalFacts, now time.Time, lead time.Duration) []Row {
	var out []Row
	for _, r := range rows {
		if r.State != edge.InTransit || r.Qty.Sign() <= 0 {
			continue
		}
		// The ledger has the last word on how much is in transit (an ERP snapshot may have
		// set it); the journal tells how old the oldest of it is.
		ls := j.transit[key{r.Item, r.Location, r.Lot}]
		var late edge.Qty
		var first lot
		for _, l := range ls {
			if now.Sub(l.at) <= lead {
				break
			}
			if late.IsZero() {
				first = l
			}
			late = late.Add(l.qty)
		}
		if late.IsZero() {
			continue
		}
		if late.Cmp(r.Qty) > 0 {
			late = r.Qty
		}
		out = append(out, Row{Kind: KindTransit, Item: r.Item, Location: r.Location, Lot: r.Lot, Qty: late, Since: first.at,
			What: fmt.Sprintf("%s %s at %s in transit for %s, longer than the lead time of %s", late, r.Item, r.Location, age(now.Sub(first.at)), age(lead)),
			Who:  RoleSuper,
			Actions: []Action{
				{Label: "confirm arrival", Post: map[string]string{"type": string(edge.StatusMove), "item": r.Item, "qty": late.String(),
					"from": r.Location, "lot": r.Lot, "state": string(edge.InTransit), "to_state": string(edge.Available)}},
				{Label: "see the transfer", Seq: first.seq}}})
	}
	sort.Slice(out, func(a, c int) bool { return out[a].Since.Before(out[c].Since) })
	return out
}

func reservedRows(rows []edge.StockRow, docs edge.MasterDocuments, j journalFacts) []Row {
	reserved, onHand := map[string]edge.Qty{}, map[string]edge.Qty{}
	for _, r := range rows {
		switch r.State {
		case edge.Reserved:
			reserved[r.Item] = reserved[r.Item].Add(r.Qty)
			onHand[r.Item] = onHand[r.Item].Add(r.Qty)
		case edge.Available:
			onHand[r.Item] = onHand[r.Item].Add(r.Qty)
		}
	}
	deliveries, refs := map[string]edge.Qty{}, map[string][]string{}
	for _, d := range docs.Documents {
		if d.Kind != edge.DocIssue || j.answered[edge.Issue][d.Ref] {
			continue
		}
		for _, l := range d.Lines {
			if o := l.Open(); o.Sign() > 0 {
				deliveries[l.Item] = deliveries[l.Item].Add(o)
				refs[l.Item] = appendOnce(refs[l.Item], d.Ref)
			}
		}
	}
	items := map[string]bool{}
	for it := range reserved {
		items[it] = true
	}
	for it := range deliveries {
		items[it] = true
	}
	var out []Row
	for it := range items {
		want, why := reserved[it], "reserved here"
		if deliveries[it].Cmp(want) > 0 {
			want, why = deliveries[it], fmt.Sprintf("for open deliveries %v", refs[it])
		}
		have := onHand[it]
		if want.Sign() <= 0 || want.Cmp(have) <= 0 {
			continue
		}
		out = append(out, Row{Kind: KindReserved, Item: it, Qty: want.Sub(have),
			What: fmt.Sprintf("%s: %s %s, on hand %s (%s short)", it, want, why, have, want.Sub(have)),
			Who:  RoleSuper,
			Actions: []Action{{Label: "see its stock", Stock: map[string]string{"item": it}},
				{Label: "count it", Post: map[string]string{"type": string(edge.Count), "item": it}}}})
	}
	sort.Slice(out, func(a, c int) bool { return out[a].Item < out[c].Item })
	return out
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

// age is a duration as a person says it: "3d 4h", "5h 20m", "12m".
func age(d time.Duration) string {
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dm", int(d/time.Minute))
}
