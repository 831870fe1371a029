package edge

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// StockPage is one page of ledger rows and the cursor to the next.
type StockPage struct {
	Rows []StockRow
	// Next is an opaque cursor (the last row's key) for StockQuery's after; "" at the end.
	Next string
}

// StockQuery pages through ledger rows matching f (f.Limit rows per page, default 200),
// starting after the cursor after ("" = from the start). A page never splits the states of
// one (item, location, lot) across two pages. Rows that do not match are skipped by
// comparing key bytes, without decoding, so a filter on a rare location stays cheap over a
// large ledger.
func (j *Journal) StockQuery(f StockFilter, after string) (StockPage, error) {
	if f.Limit <= 0 {
		f.Limit = 200
	}
	var page StockPage
	err := j.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketStock).Cursor()
		var prefix []byte
		if f.Item != "" {
			prefix = append([]byte(f.Item), 0)
		}
		var k, v []byte
		switch {
		case after != "":
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		case prefix != nil:
			k, v = c.Seek(prefix)
		default:
			k, v = c.First()
		}
		var group []byte // item NUL location NUL lot NUL of the last row taken
		for ; k != nil; k, v = c.Next() {
			if prefix != nil && !bytes.HasPrefix(k, prefix) {
				break
			}
			item, loc, lot, state, ok := splitStockKey(k)
			if !ok {
				return fmt.Errorf("bad stock key %q", k)
			}
			if (f.Location != "" && string(loc) != f.Location) || (f.Lot != "" && string(lot) != f.Lot) ||
				(f.State != "" && string(state) != string(f.State)) {
				continue
			}
			g := k[:len(k)-len(state)]
			if len(page.Rows) >= f.Limit && !bytes.Equal(g, group) {
				page.Next = string(page.lastKey())
				break
			}
			var r stockRec
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("stock row %q: %w", k, err)
			}
			page.Rows = append(page.Rows, StockRow{Item: string(item), Location: string(loc), Lot: string(lot),
				State: StockState(state), Qty: r.Qty, ERPQty: r.ERP, Pending: r.Qty.Sub(r.ERP)})
			group = append(group[:0], g...)
		}
		return j.unacked.fill(j.cat, btx, page.Rows)
	})
	return page, err
}

func (p *StockPage) lastKey() []byte {
	r := p.Rows[len(p.Rows)-1]
	return stockKey{Item: r.Item, Location: r.Location, Lot: r.Lot, State: r.State}.bytes()
}

// splitStockKey cuts a stockKey encoding (see keys.go) into its parts without allocating:
// the filter runs over every key of the ledger.
func splitStockKey(k []byte) (item, loc, lot, state []byte, ok bool) {
	var parts [4][]byte
	rest := k
	for i := 0; i < 3; i++ {
		n := bytes.IndexByte(rest, 0)
		if n < 0 {
			return nil, nil, nil, nil, false
		}
		parts[i], rest = rest[:n], rest[n+1:]
	}
	if bytes.IndexByte(rest, 0) >= 0 {
		return nil, nil, nil, nil, false
	}
	return parts[0], parts[1], parts[2], rest, true
}
