package station

import (
	"fmt"
	"strings"

	"github.com/depotd/depotd/edge"
)

// DocumentSource finds the ERP's open documents by ref; *edge.Journal satisfies it.
type DocumentSource interface {
	Document(ref string) (edge.Document, bool, error)
}

// expected is the ERP document a station's open document works against, copied when the
// operator scans its REF: so that the screen and the checks stay as the operator started
// them (and survive a restart with the station's state) even when a newer snapshot
// arrives meanwhile.
type expected struct {
	Ref     string         `json:"ref"`
	Kind    string         `json:"kind"`
	Origin  string         `json:"origin,omitempty"`
	Partner string         `json:"partner,omitempty"`
	Lines   []expectedLine `json:"lines"`
}

// expectedLine is what is still expected of one item (the document's lines of the item
// summed, less what the ERP has already done), in the item's base unit.
type expectedLine struct {
	Item string   `json:"item"`
	Qty  edge.Qty `json:"qty"`
	UoM  string   `json:"uom,omitempty"`
}

var kindName = map[string]string{edge.DocReceipt: "a receipt", edge.DocIssue: "a delivery", edge.DocTransfer: "a transfer"}

// docKind is the document kind a mode works against, "" for modes without ERP documents.
func (m Mode) docKind() string {
	switch m {
	case ModeReceive:
		return edge.DocReceipt
	case ModeIssue:
		return edge.DocIssue
	case ModeTransfer:
		return edge.DocTransfer
	}
	return ""
}

// expect looks ref up among the ERP's open documents and, when it names one of the
// mode's kind, returns what it expects and a note for the operator. A ref the depot does
// not know is no error and gets no note: the document may be newer than the last
// snapshot, or the ref a supplier's delivery note.
func (s *station) expect(ref string) (*expected, string) {
	src := s.m.opts.Documents
	kind := s.st.Mode.docKind()
	if src == nil || kind == "" {
		return nil, ""
	}
	doc, ok, err := src.Document(ref)
	if err != nil {
		s.m.log.Error("open documents unavailable", "station", s.cfg.Name, "err", err)
		return nil, "; open ERP documents unavailable, nothing to compare with"
	}
	if !ok {
		return nil, "" // most refs name no ERP document (a supplier's delivery note)
	}
	if doc.Kind != kind {
		return nil, fmt.Sprintf(": the ERP's %s is %s, this station is in %s mode: nothing to compare with", ref, kindName[doc.Kind], s.st.Mode)
	}
	e := &expected{Ref: doc.Ref, Kind: doc.Kind, Origin: doc.Origin, Partner: doc.Partner}
	at := map[string]int{}
	for _, l := range doc.Lines {
		if i, ok := at[l.Item]; ok {
			e.Lines[i].Qty = e.Lines[i].Qty.Add(l.Open())
			continue
		}
		at[l.Item] = len(e.Lines)
		e.Lines = append(e.Lines, expectedLine{Item: l.Item, Qty: l.Open(), UoM: l.UoM})
	}
	var parts []string
	if doc.Partner != "" {
		parts = append(parts, doc.Partner)
	}
	if doc.Origin != "" {
		parts = append(parts, doc.Origin)
	}
	note := fmt.Sprintf(": %s", doc.Kind)
	if len(parts) > 0 {
		note += " (" + strings.Join(parts, ", ") + ")"
	}
	n := len(e.Lines)
	return e, fmt.Sprintf("%s, %d item%s expected", note, n, plural(n))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// scanned is the quantity of item on the document's lines.
func (d *document) scanned(item string) edge.Qty {
	var q edge.Qty
	for _, l := range d.Lines {
		if l.Item == item {
			q = q.Add(l.Qty)
		}
	}
	return q
}

// against says how item stands once add more is scanned: "5/12 of WH/IN/00012", "not on
// WH/IN/00012", or an over-receipt; over reports the last. Nothing without an expected
// document.
func (d *document) against(item string, add edge.Qty) (note string, over bool) {
	e := d.Expect
	if e == nil {
		return "", false
	}
	for _, l := range e.Lines {
		if l.Item != item {
			continue
		}
		got := d.scanned(item).Add(add)
		if got.Cmp(l.Qty) > 0 {
			return fmt.Sprintf("%s/%s: %s more than %s expects", got, l.Qty, got.Sub(l.Qty), e.Ref), true
		}
		return fmt.Sprintf("%s/%s of %s", got, l.Qty, e.Ref), false
	}
	return fmt.Sprintf("%s is not on %s", item, e.Ref), false
}

// ExpectedView is the ERP document a station's open document works against, line by
// line: each expected item with what was scanned of it, then the items scanned that the
// document does not name.
type ExpectedView struct {
	Ref     string             `json:"ref"`
	Kind    string             `json:"kind"`
	Origin  string             `json:"origin,omitempty"`
	Partner string             `json:"partner,omitempty"`
	Lines   []ExpectedLineView `json:"lines"`
}

// ExpectedLineView is one item against the document. Status is "short", "complete",
// "over" or "unexpected" (not on the document; Expected is then empty).
type ExpectedLineView struct {
	Item     string    `json:"item"`
	Expected *edge.Qty `json:"expected,omitempty"`
	Scanned  edge.Qty  `json:"scanned"`
	UoM      string    `json:"uom,omitempty"`
	Status   string    `json:"status"`
}

func (d *document) expectedView() *ExpectedView {
	e := d.Expect
	if e == nil {
		return nil
	}
	v := &ExpectedView{Ref: e.Ref, Kind: e.Kind, Origin: e.Origin, Partner: e.Partner, Lines: []ExpectedLineView{}}
	named := map[string]bool{}
	for _, l := range e.Lines {
		named[l.Item] = true
		got := d.scanned(l.Item)
		status := "short"
		switch got.Cmp(l.Qty) {
		case 0:
			status = "complete"
		case 1:
			status = "over"
		}
		q := l.Qty
		v.Lines = append(v.Lines, ExpectedLineView{Item: l.Item, Expected: &q, Scanned: got, UoM: l.UoM, Status: status})
	}
	for _, l := range d.Lines {
		if named[l.Item] {
			continue
		}
		named[l.Item] = true
		v.Lines = append(v.Lines, ExpectedLineView{Item: l.Item, Scanned: d.scanned(l.Item), UoM: l.UoM, Status: "unexpected"})
	}
	return v
}
