package station

import (
	"fmt"
	"strings"
	"time"

	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
)

// Result is the outcome of one scan as the operator sees it.
type Result string

const (
	// Accepted: the scan did what it says.
	Accepted Result = "accepted"
	// Prompt: accepted, and something more is needed next; the message says what.
	Prompt Result = "prompt"
	// Refused: nothing changed; the message says why.
	Refused Result = "refused"
)

// state is one station's persisted state (JSON in the journal's stations bucket).
type state struct {
	Mode       Mode           `json:"mode"`
	Operator   *edge.Operator `json:"operator,omitempty"`
	LastActive time.Time      `json:"last_active"`
	// NextQty is a QTY: scanned before a product: it multiplies the next product scan.
	NextQty *edge.Qty `json:"next_qty,omitempty"`
	Doc     *document `json:"document,omitempty"`
	Last    *Last     `json:"last,omitempty"`
}

// document is the one open document of a station.
type document struct {
	ID     string    `json:"id"`
	Opened time.Time `json:"opened"`
	Mode   Mode      `json:"mode"`
	Ref    string    `json:"ref,omitempty"`
	Reason string    `json:"reason,omitempty"`
	// From and To are the current locations: new lines take them.
	From  string      `json:"from,omitempty"`
	To    string      `json:"to,omitempty"`
	Lines []edge.Line `json:"lines"`
	// LastAdd is the product scan just before (a QTY: scanned now replaces what it added).
	LastAdd *lastAdd `json:"last_add,omitempty"`
	// Pending is a product waiting for its lot, serial or expiry.
	Pending *pending `json:"pending,omitempty"`
	// AwaitingApproval: validated, waiting for a supervisor badge.
	AwaitingApproval bool `json:"awaiting_approval,omitempty"`
	// Remove makes an adjustment take stock away (CMD:REMOVE toggles it).
	Remove       bool                `json:"remove,omitempty"`
	Scans        []edge.ScanEvidence `json:"scans,omitempty"`
	ScansDropped int                 `json:"scans_dropped,omitempty"`
	// Expect is the ERP document Ref names, when the depot knows it (master/documents).
	Expect *expected `json:"expect,omitempty"`
}

type lastAdd struct {
	Line int      `json:"line"`
	Qty  edge.Qty `json:"qty"`  // what the scan added
	Mult edge.Qty `json:"mult"` // units per scanned code (packaging quantity)
	// Weighed: the quantity came from a weight, which a QTY: must not override.
	Weighed bool `json:"weighed,omitempty"`
}

type pending struct {
	SKU       string   `json:"sku"`
	Qty       edge.Qty `json:"qty"`
	Mult      edge.Qty `json:"mult"`
	Packaging string   `json:"packaging,omitempty"`
	Lot       string   `json:"lot,omitempty"`
	Serial    string   `json:"serial,omitempty"`
	Expiry    string   `json:"expiry,omitempty"`
	WeightKg  string   `json:"weight_kg,omitempty"`
	// GTIN and ContentGTIN are the keys the product's own scan carried: a later lot or
	// expiry label of the same item is decoded with them (barcode.Decoder.DecodeForItem),
	// because GS1 lets (10) or (17) stand on another barcode than the item's (01) or (02).
	GTIN        string `json:"gtin,omitempty"`
	ContentGTIN string `json:"content_gtin,omitempty"`
}

// carriers returns the GS1 keys read from the pending product's own barcode.
func (p *pending) carriers() []barcode.AI {
	var ais []barcode.AI
	if p.GTIN != "" {
		ais = append(ais, barcode.AI{AI: "01", Value: p.GTIN})
	}
	if p.ContentGTIN != "" {
		ais = append(ais, barcode.AI{AI: "02", Value: p.ContentGTIN})
	}
	return ais
}

// Last is the feedback of a station's latest scan.
type Last struct {
	At      time.Time `json:"at"`
	Scan    string    `json:"scan"`
	Result  Result    `json:"result"`
	Message string    `json:"message"`
}

// side says which location a mode's location scans set: "from" (the source) or "to".
func (m Mode) side() string {
	switch m {
	case ModeIssue, ModeScrap, ModeRelease, ModeTransfer:
		return "from"
	}
	return "to"
}

func sideName(side string) string {
	if side == "from" {
		return "source"
	}
	return "destination"
}

// maxScanEvidence matches the journal's bound on a transaction's scans.
const maxScanEvidence = 1000

func (d *document) addEvidence(e edge.ScanEvidence) {
	if len(d.Scans) >= maxScanEvidence {
		d.ScansDropped++
		return
	}
	d.Scans = append(d.Scans, e)
}

// total is the sum of the lines' absolute quantities.
func (d *document) total() edge.Qty {
	var t edge.Qty
	for _, l := range d.Lines {
		q := l.Qty
		if q.Sign() < 0 {
			q = q.Neg()
		}
		t = t.Add(q)
	}
	return t
}

// unplaced counts transfer lines still without a destination.
func (d *document) unplaced() int {
	n := 0
	for _, l := range d.Lines {
		if l.To == "" {
			n++
		}
	}
	return n
}

// findLine returns the line a scan adds to, or -1.
func (d *document) findLine(l edge.Line) int {
	if l.Serial != "" {
		return -1
	}
	for i, o := range d.Lines {
		if o.Item == l.Item && o.Lot == l.Lot && o.Serial == "" && o.Expiry == l.Expiry &&
			o.From == l.From && o.To == l.To && o.State == l.State && o.ToState == l.ToState {
			return i
		}
	}
	return -1
}

func hasSerial(d *document, item, serial string) bool {
	for _, l := range d.Lines {
		if l.Item == item && l.Serial == serial {
			return true
		}
	}
	return false
}

// addPackaging records a packaging as evidence on a line, once per packaging.
func addPackaging(l *edge.Line, name string) {
	if name == "" {
		return
	}
	for _, p := range strings.Split(l.Packaging, ",") {
		if p == name {
			return
		}
	}
	if l.Packaging == "" {
		l.Packaging = name
	} else {
		l.Packaging += "," + name
	}
}

// summary is a short description of the document for messages.
func (d *document) summary() string {
	if d == nil || len(d.Lines) == 0 {
		return "no lines"
	}
	n := len(d.Lines)
	s := "s"
	if n == 1 {
		s = ""
	}
	return fmt.Sprintf("%d line%s, %s in all", n, s, d.total())
}
