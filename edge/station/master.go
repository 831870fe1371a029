package station

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
)

// MasterSource is where the uplink stores the ERP's master data; *edge.Journal satisfies it.
type MasterSource interface {
	// Master returns the stored payload of a kind (nil when none was received).
	Master(kind string) ([]byte, error)
	// MasterDigest changes whenever the stored payload of a kind changes.
	MasterDigest(kind string) (uint64, error)
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

// buildIndex merges the config's master data with the ERP's (the ERP wins per SKU, badge
// and barcode). Problems in the ERP payloads are logged and the payload skipped: stations
// must keep working on what they have.
func buildIndex(cfg *MasterConfig, erpItems, erpOps []byte, log *slog.Logger) *masterIndex {
	ix := &masterIndex{codes: map[string]codeHit{}, skus: map[string]*itemInfo{}, operators: map[string]edge.Operator{}}
	var items []MasterItem
	items = append(items, cfg.Items...)
	if len(erpItems) > 0 {
		var m edge.MasterItems
		if err := json.Unmarshal(erpItems, &m); err != nil {
			log.Error("stored master items unreadable; using the config's only", "err", err)
		} else {
			for _, it := range m.Items {
				items = append(items, MasterItem{Item: it})
			}
		}
	}
	for _, mi := range items {
		info := &itemInfo{Item: mi.Item, uom: mi.UoM}
		if info.uom == "" {
			info.uom = edge.DefaultUoM
		}
		if mi.UnitWeightKg != "" {
			if q, err := edge.ParseQtyAnyScale(mi.UnitWeightKg); err == nil && q.Sign() > 0 {
				info.unitWeight = &q
			}
		}
		if mi.UnitValue != "" {
			if q, err := edge.ParseQtyAnyScale(mi.UnitValue); err == nil {
				info.unitValue = &q
			}
		}
		// A later entry (the ERP's) replaces an earlier one (the config's) with the same
		// SKU, barcodes included.
		if old, ok := ix.skus[mi.SKU]; ok {
			for k, h := range ix.codes {
				if h.item == old {
					delete(ix.codes, k)
				}
			}
		}
		ix.skus[mi.SKU] = info
		ix.codes[codeKey(mi.SKU)] = codeHit{item: info, qty: edge.QtyFromInt(1)}
		for _, b := range mi.Barcodes {
			ix.codes[codeKey(b)] = codeHit{item: info, qty: edge.QtyFromInt(1)}
		}
		for _, p := range mi.Packagings {
			name := p.Name
			if name == "" {
				name = p.Barcode
			}
			ix.codes[codeKey(p.Barcode)] = codeHit{item: info, qty: p.Qty, packaging: name}
		}
	}
	for _, o := range cfg.Operators {
		ix.operators[o.Badge] = o
	}
	if len(erpOps) > 0 {
		var m edge.MasterOperators
		if err := json.Unmarshal(erpOps, &m); err != nil {
			log.Error("stored master operators unreadable; using the config's only", "err", err)
		} else {
			for _, o := range m.Operators {
				ix.operators[o.Badge] = o
			}
		}
	}
	return ix
}

// master caches the merged index and rebuilds it when the stored payloads change.
type master struct {
	src MasterSource
	cfg *MasterConfig
	log *slog.Logger

	mu     sync.Mutex
	ix     *masterIndex
	itemsD uint64
	opsD   uint64
	built  bool
}

// index returns the current index. It checks the stored digests on every call (a
// CRC over the stored bytes, without copying them) so that new master data from the uplink
// is used from the next scan on.
func (m *master) index() (*masterIndex, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var di, do uint64
	if m.src != nil {
		var err error
		if di, err = m.src.MasterDigest(edge.MasterKindItems); err != nil {
			return m.fallback(err)
		}
		if do, err = m.src.MasterDigest(edge.MasterKindOperators); err != nil {
			return m.fallback(err)
		}
	}
	if m.built && di == m.itemsD && do == m.opsD {
		return m.ix, nil
	}
	var items, ops []byte
	if m.src != nil {
		var err error
		if items, err = m.src.Master(edge.MasterKindItems); err != nil {
			return m.fallback(err)
		}
		if ops, err = m.src.Master(edge.MasterKindOperators); err != nil {
			return m.fallback(err)
		}
	}
	m.ix = buildIndex(m.cfg, items, ops, m.log)
	m.itemsD, m.opsD, m.built = di, do, true
	return m.ix, nil
}

func (m *master) fallback(err error) (*masterIndex, error) {
	if m.built {
		return m.ix, nil // stale master data beats none
	}
	return nil, fmt.Errorf("read master data: %w", err)
}
