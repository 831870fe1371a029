package edge

import (
	"encoding/json"
	"fmt"
	"time"
)

// MasterKindDocuments is the ERP's open documents (expected receipts, deliveries and
// transfers), downlinked on `P master/documents` like the other master kinds.
const MasterKindDocuments = "documents"

// Document kinds: what a station mode works against.
const (
	DocReceipt  = "receipt"
	DocIssue    = "issue" // a delivery
	DocTransfer = "transfer"
)

// MasterDocuments is the full snapshot of the depot's open ERP documents. A document that
// is done or cancelled in the ERP drops out of the next snapshot.
type MasterDocuments struct {
	V         int        `json:"v"`
	Version   string     `json:"version"`
	Documents []Document `json:"documents"`
}

// Document is one open ERP document (an Odoo picking): what the depot is expected to
// receive, ship or move, line by line. A station that scans its Ref shows scanned against
// expected; the depot's daily exceptions list a receipt past its Scheduled time that no
// receipt with that ref has answered yet.
type Document struct {
	Ref       string         `json:"ref"`
	Kind      string         `json:"kind"` // receipt, issue, transfer
	Origin    string         `json:"origin,omitempty"`
	Partner   string         `json:"partner,omitempty"`
	Scheduled time.Time      `json:"scheduled,omitzero"`
	Lines     []DocumentLine `json:"lines"`
}

// DocumentLine is what the document expects of one item, in the item's base unit: Qty in
// all, Done of it already done in the ERP (a partly processed picking).
type DocumentLine struct {
	Item string `json:"item"`
	Qty  Qty    `json:"qty"`
	Done Qty    `json:"done,omitzero"`
	UoM  string `json:"uom,omitempty"`
}

// Open is what is still expected of the line: Qty less Done, never below zero.
func (l DocumentLine) Open() Qty {
	r := l.Qty.Sub(l.Done)
	if r.Sign() < 0 {
		return Qty{}
	}
	return r
}

// maxDocumentLines bounds one document, as the journal bounds a transaction's lines.
const maxDocumentLines = 1000

func validateDocuments(dec *json.Decoder) (string, error) {
	var m MasterDocuments
	if err := dec.Decode(&m); err != nil {
		return "", fmt.Errorf("master documents: %w", err)
	}
	seen := make(map[string]bool, len(m.Documents))
	for i, d := range m.Documents {
		p := fmt.Sprintf("documents[%d]", i)
		if fe := checkText(p+".ref", d.Ref, maxTextLen, true); fe != nil {
			return "", fe
		}
		if seen[d.Ref] {
			return "", fieldErr(p+".ref", "duplicate ref %q", d.Ref)
		}
		seen[d.Ref] = true
		switch d.Kind {
		case DocReceipt, DocIssue, DocTransfer:
		default:
			return "", fieldErr(p+".kind", "unknown kind %q (receipt, issue, transfer)", d.Kind)
		}
		for _, f := range []struct{ name, v string }{{"origin", d.Origin}, {"partner", d.Partner}} {
			if fe := checkText(p+"."+f.name, f.v, maxTextLen, false); fe != nil {
				return "", fe
			}
		}
		if len(d.Lines) == 0 {
			return "", fieldErr(p+".lines", "a document needs at least one line")
		}
		if len(d.Lines) > maxDocumentLines {
			return "", fieldErr(p+".lines", "%d lines, at most %d", len(d.Lines), maxDocumentLines)
		}
		for k, l := range d.Lines {
			lp := fmt.Sprintf("%s.lines[%d]", p, k)
			if fe := checkText(lp+".item", l.Item, maxTextLen, true); fe != nil {
				return "", fe
			}
			if l.Qty.Sign() <= 0 {
				return "", fieldErr(lp+".qty", "must be greater than zero")
			}
			if l.Done.Sign() < 0 {
				return "", fieldErr(lp+".done", "must not be negative")
			}
			if fe := checkText(lp+".uom", l.UoM, maxTextLen, false); fe != nil {
				return "", fe
			}
		}
	}
	return checkV(m.V, m.Version)
}

// Documents returns the ERP's open documents as last downlinked (none before the first
// snapshot). Read on demand, by a station naming a ref and by the daily exceptions, never
// on the commit path.
func (j *Journal) Documents() (MasterDocuments, error) {
	var m MasterDocuments
	raw, err := j.Master(MasterKindDocuments)
	if err != nil {
		return m, fmt.Errorf("read master documents: %w", err)
	}
	if len(raw) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("stored master documents unreadable: %w", err)
	}
	return m, nil
}

// Document returns the open ERP document with a ref.
func (j *Journal) Document(ref string) (Document, bool, error) {
	m, err := j.Documents()
	if err != nil {
		return Document{}, false, err
	}
	for _, d := range m.Documents {
		if d.Ref == ref {
			return d, true, nil
		}
	}
	return Document{}, false, nil
}
