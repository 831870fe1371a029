package station

import (
	"fmt"
	"sync"

	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
)

// MasterSource is the depot's one master-data view (the config's merged with the ERP's,
// edge.MasterView); *edge.Journal satisfies it.
type MasterSource interface {
	// MasterView returns the current merged view; a new view (another pointer) means the
	// master data changed.
	MasterView() (*edge.MasterView, error)
}

// itemInfo is an item with what the stations need precomputed.
type itemInfo struct {
	edge.Item
	uom        string
	unitWeight *edge.Qty // kg per unit, nil when unknown
	unitValue  *edge.Qty
}

func (it *itemInfo) needsLot() bool    { return it.Tracking == "lot" }
func (it *itemInfo) needsSerial() bool { return it.Tracking == "serial" }

// codeHit is what a barcode stands for: an item, and a multiplier when it is a packaging.
type codeHit struct {
	item      *itemInfo
	qty       edge.Qty // units per scan: 1, or the packaging's quantity
	packaging string   // packaging name (or barcode) when the code is a packaging
}

// masterIndex is decoded, merged master data. Immutable once built.
type masterIndex struct {
	codes     map[string]codeHit // codeKey(barcode) → hit
	skus      map[string]*itemInfo
	operators map[string]edge.Operator
}

// codeKey normalises a barcode for lookup: GTINs (8, 12, 13 or 14 digits with a valid check
// digit) all become their 14-digit form, so an item stored with an EAN-13 is found from a
// GS1-128 (01) or a UPC-A; anything else is looked up as is.
func codeKey(code string) string {
	if n := len(code); (n == 8 || n == 12 || n == 13 || n == 14) && allDigits(code) && barcode.ValidCheckDigit(code) {
		return "g" + zeros[:14-n] + code
	}
	return "c" + code
}

const zeros = "00000000000000"

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// buildIndex indexes the merged master data for scanning (the merge itself, and its rule,
// is edge.MasterView's, unit values included): barcodes are looked up GTIN-normalised.
func buildIndex(view *edge.MasterView) *masterIndex {
	ix := &masterIndex{codes: map[string]codeHit{}, skus: map[string]*itemInfo{}, operators: map[string]edge.Operator{}}
	for _, it := range view.Items() {
		info := &itemInfo{Item: it, uom: it.UoM}
		if info.uom == "" {
			info.uom = edge.DefaultUoM
		}
		if it.UnitWeightKg != "" {
			if q, err := edge.ParseQtyAnyScale(it.UnitWeightKg); err == nil && q.Sign() > 0 {
				info.unitWeight = &q
			}
		}
		if q, ok := it.Value(); ok {
			info.unitValue = &q
		}
		ix.skus[it.SKU] = info
		ix.codes[codeKey(it.SKU)] = codeHit{item: info, qty: edge.QtyFromInt(1)}
		for _, b := range it.Barcodes {
			ix.codes[codeKey(b)] = codeHit{item: info, qty: edge.QtyFromInt(1)}
		}
		for _, p := range it.Packagings {
			name := p.Name
			if name == "" {
				name = p.Barcode
			}
			ix.codes[codeKey(p.Barcode)] = codeHit{item: info, qty: p.Qty, packaging: name}
		}
	}
	for _, o := range view.Operators() {
		ix.operators[o.Badge] = o
	}
	return ix
}

// master caches the index and rebuilds it when the merged view changes.
type master struct {
	src MasterSource

	mu   sync.Mutex
	ix   *masterIndex
	view *edge.MasterView
}

// index returns the current index. It asks for the view on every call (cheap: the journal
// rebuilds it only when the ERP stored new master data) so that new master data from the
// uplink is used from the next scan on.
func (m *master) index() (*masterIndex, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	view, err := m.src.MasterView()
	if err != nil && m.ix != nil {
		return m.ix, nil // stale master data beats none
	}
	if view == nil {
		return nil, fmt.Errorf("read master data: %w", err)
	}
	if view != m.view {
		m.ix, m.view = buildIndex(view), view
	}
	return m.ix, nil
}
