package station

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/shopspring/decimal"
)

// outcome is what handling one scan produced.
type outcome struct {
	result  Result
	msg     string
	seq     uint64
	changed bool // the state changed (persist it)
	// unresolved: keep the scan in the journal of unresolved scans with this reason.
	unresolved string
	// keepLast: the scan added a product (or corrected it with QTY:), so a QTY: scanned
	// next applies to it.
	keepLast bool
	// exception: raise it for a supervisor (a packaging whose weight disagrees).
	exception *edge.Exception
}

func accepted(format string, a ...any) outcome {
	return outcome{result: Accepted, msg: fmt.Sprintf(format, a...), changed: true}
}

func prompt(format string, a ...any) outcome {
	return outcome{result: Prompt, msg: fmt.Sprintf(format, a...), changed: true}
}

func refused(format string, a ...any) outcome {
	return outcome{result: Refused, msg: fmt.Sprintf(format, a...)}
}

// unresolved refuses and keeps the scan for a supervisor.
func unresolved(format string, a ...any) outcome {
	o := refused(format, a...)
	o.unresolved = o.msg
	return o
}

// printable shows scanned bytes on one line: GS as ␝, other control or non-ASCII bytes as
// \xNN, so that the console and logs never receive raw control bytes.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == 0x1D:
			sb.WriteString("␝")
		case c >= 0x20 && c < 0x7F:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02X`, c)
		}
	}
	return sb.String()
}

// handle processes one scan on a station whose lock is held. now is the scan's time.
func (s *station) handle(ctx context.Context, sc devices.Scan, now time.Time) outcome {
	m := s.m
	st := &s.st
	data := string(sc.Data)

	// A location label is matched on its exact content first: location barcodes are free
	// text chosen by the depot and must win over any other reading of the same bytes.
	if loc, ok := m.opts.Catalog.LocationByBarcode(data); ok && data != "" {
		if st.Operator == nil {
			return unresolved("scan your badge first: no operator is logged in")
		}
		return s.location(loc, sc, now)
	}
	// A scan while a product awaits its lot, serial or expiry is read together with that
	// product's keys: the GS1 pairing rules span all barcodes of an item.
	var item []barcode.AI
	if d := st.Doc; d != nil && d.Pending != nil {
		item = d.Pending.carriers()
	}
	res, err := m.opts.Decoder.DecodeForItem(sc.Data, sc.AIM, item)
	if err != nil {
		var be *barcode.Error
		if errors.As(err, &be) {
			return unresolved("unreadable barcode: %s", be.Msg)
		}
		return unresolved("unreadable barcode: %v", err)
	}
	ix, err := m.master.index()
	if err != nil {
		m.log.Error("master data unavailable", "err", err)
		return refused("master data unavailable: %v", err)
	}
	if res.Kind == barcode.KindOperator {
		return s.badge(ctx, ix, res.Value, now)
	}
	if st.Operator == nil {
		return unresolved("scan your badge first: no operator is logged in")
	}
	if d := st.Doc; d != nil && d.AwaitingApproval {
		if res.Kind == barcode.KindCommand {
			switch command(res.Value) {
			case "CANCEL", "UNDO":
				return s.command(ctx, ix, res.Value, sc, now)
			}
		}
		return refused("waiting for a supervisor badge to approve (or CMD:CANCEL, CMD:UNDO)")
	}
	switch res.Kind {
	case barcode.KindCommand:
		return s.command(ctx, ix, res.Value, sc, now)
	case barcode.KindQuantity:
		return s.quantity(res.Value, sc, now)
	case barcode.KindReference:
		return s.reference(res.Value, sc, now)
	case barcode.KindLocation:
		loc, ok := m.opts.Catalog.Location(res.Value)
		if !ok {
			return unresolved("unknown location %q", res.Value)
		}
		return s.location(loc, sc, now)
	}
	return s.product(ix, res, sc, now)
}

// command normalises a command value: CMD:VALIDATE, O-BTN.validate and O-CMD.DISCARD all
// name one of the station's commands.
func command(v string) string {
	c := strings.ToUpper(v)
	switch c {
	case "DISCARD":
		return "CANCEL"
	}
	return c
}

func (s *station) ensureDoc(now time.Time) *document {
	st := &s.st
	if st.Doc == nil {
		d := &document{ID: s.m.newID(s.cfg.Name, now), Opened: now, Mode: st.Mode, Lines: []edge.Line{}}
		if st.Mode.side() == "from" || st.Mode == ModeTransfer {
			d.From = s.cfg.From
		}
		if st.Mode.side() == "to" || st.Mode == ModeTransfer {
			d.To = s.cfg.To
		}
		st.Doc = d
	}
	return st.Doc
}

func evidence(sc devices.Scan) edge.ScanEvidence {
	return edge.ScanEvidence{At: sc.At, Device: sc.Device, Raw: string(sc.Raw), AIM: sc.AIM}
}

// badge logs an operator in or out, or approves a document waiting for a supervisor.
func (s *station) badge(ctx context.Context, ix *masterIndex, badge string, now time.Time) outcome {
	st := &s.st
	op, ok := ix.operators[badge]
	if !ok {
		return unresolved("unknown badge %q", badge)
	}
	if d := st.Doc; d != nil && d.AwaitingApproval && st.Operator != nil {
		if op.Role != RoleSupervisor && op.Role != RoleAdmin {
			return refused("%s is not a supervisor: a supervisor must scan their badge to approve", op.Name)
		}
		if op.Badge == st.Operator.Badge {
			return refused("approval needs another person's badge")
		}
		return s.commit(ctx, &op, now)
	}
	if st.Operator != nil && st.Operator.Badge == op.Badge {
		st.Operator = nil
		st.NextQty = nil
		return accepted("%s logged out", op.Name)
	}
	prev := st.Operator
	st.Operator = &op
	msg := fmt.Sprintf("logged in: %s (%s), mode %s", op.Name, op.Role, st.Mode)
	if prev != nil {
		msg += fmt.Sprintf("; %s logged out", prev.Name)
	}
	if d := st.Doc; d != nil && len(d.Lines) > 0 {
		msg += fmt.Sprintf("; open document: %s", d.summary())
	}
	return accepted("%s", msg)
}

func (s *station) command(ctx context.Context, ix *masterIndex, value string, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	if loc, ok := countArg(value); ok {
		return s.startCount(loc, sc, now)
	}
	c := command(value)
	switch c {
	case "VALIDATE":
		d := st.Doc
		if d == nil || len(d.Lines) == 0 {
			if d != nil && d.Pending != nil {
				return refused("%s", s.pendingPrompt(ix, d.Pending))
			}
			return refused("nothing to validate: scan products first")
		}
		if d.Pending != nil {
			return refused("%s", s.pendingPrompt(ix, d.Pending))
		}
		if n := d.unplaced(); n > 0 && d.Mode == ModeTransfer {
			return refused("scan the destination location for %d line(s) first", n)
		}
		if why := s.needsApproval(ix, d); why != "" {
			d.AwaitingApproval = true
			d.addEvidence(evidence(sc))
			return prompt("supervisor approval needed (%s): supervisor, scan your badge", why)
		}
		d.addEvidence(evidence(sc))
		return s.commit(ctx, nil, now)
	case "CANCEL":
		d := st.Doc
		if d == nil {
			if st.NextQty != nil {
				st.NextQty = nil
				return accepted("quantity cleared")
			}
			return refused("no open document to cancel")
		}
		st.Doc, st.NextQty = nil, nil
		return accepted("document cancelled (%s discarded)", d.summary())
	case "UNDO":
		d := st.Doc
		switch {
		case d == nil:
			return refused("nothing to undo")
		case d.AwaitingApproval:
			d.AwaitingApproval = false
			return accepted("approval request withdrawn: document open again")
		case d.Pending != nil:
			p := d.Pending
			d.Pending = nil
			return accepted("%s dropped", p.SKU)
		case len(d.Lines) == 0:
			return refused("nothing to undo")
		}
		l := d.Lines[len(d.Lines)-1]
		d.Lines = d.Lines[:len(d.Lines)-1]
		d.LastAdd = nil
		return accepted("removed line %s %s %s; %s", l.Item, l.Qty, l.UoM, d.summary())
	case "REMOVE":
		if st.Mode != ModeAdjust {
			return refused("CMD:REMOVE is for adjustments only")
		}
		d := s.ensureDoc(now)
		d.Remove = !d.Remove
		if d.Remove {
			return accepted("this adjustment removes stock")
		}
		return accepted("this adjustment adds stock")
	}
	for _, mode := range Modes {
		if c != strings.ToUpper(string(mode)) {
			continue
		}
		if d := st.Doc; d != nil && (len(d.Lines) > 0 || d.Pending != nil) {
			return refused("validate or cancel the open %s document first (%s)", d.Mode, d.summary())
		}
		st.Mode, st.Doc, st.NextQty = mode, nil, nil
		return accepted("mode %s: %s", mode, s.nextStep())
	}
	return unresolved("unknown command %q", value)
}

// nextStep says what the operator should scan in the current mode.
func (s *station) nextStep() string {
	st := &s.st
	side := st.Mode.side()
	loc := s.cfg.To
	if side == "from" {
		loc = s.cfg.From
	}
	if d := st.Doc; d != nil {
		loc = d.To
		if side == "from" {
			loc = d.From
		}
	}
	if loc == "" {
		return fmt.Sprintf("scan the %s location", sideName(side))
	}
	return fmt.Sprintf("%s %s; scan products", sideName(side), loc)
}

func (s *station) quantity(v string, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	n, err := edge.ParseQty(v)
	if err != nil || n.Sign() <= 0 {
		return refused("quantity %q is not a positive number", v)
	}
	if d := st.Doc; d != nil && d.Pending != nil {
		if it := s.pendingItem(d.Pending); it != nil && it.needsSerial() && !n.Equal(edge.QtyFromInt(1)) {
			return refused("%s is serial-numbered: one unit per serial", it.SKU)
		}
		d.Pending.Qty = n.Mul(d.Pending.Mult)
		d.addEvidence(evidence(sc))
		return prompt("%s ×%s; %s", d.Pending.SKU, n, s.pendingPrompt(nil, d.Pending))
	}
	if d := st.Doc; d != nil && d.LastAdd != nil && d.LastAdd.Line < len(d.Lines) {
		la := d.LastAdd
		l := &d.Lines[la.Line]
		if la.Weighed {
			return refused("the quantity of %s came from the scale; CMD:UNDO to correct it", l.Item)
		}
		q := n.Mul(la.Mult)
		if l.Serial != "" && !q.Equal(edge.QtyFromInt(1)) {
			return refused("%s is serial-numbered: one unit per serial", l.Item)
		}
		vs, over := d.against(l.Item, q.Sub(la.Qty))
		if over && s.m.opts.Settings.RefuseOverExpected {
			return refused("%s ×%s: %s (refused: station_settings.refuse_over_expected)", l.Item, n, vs)
		}
		if vs != "" {
			vs = "; " + vs
		}
		l.Qty = l.Qty.Sub(la.Qty).Add(q)
		la.Qty = q
		d.addEvidence(evidence(sc))
		o := accepted("%s: %s %s (last scan counted ×%s)%s", l.Item, l.Qty, l.UoM, n, vs)
		o.keepLast = true
		return o
	}
	st.NextQty = &n
	return accepted("next product ×%s", n)
}

func (s *station) reference(v string, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	if seq, closed := s.m.closedRef(v); closed {
		return unresolved("document %s was already validated (seq %d): its scans cannot be added; a backorder has a new reference", v, seq)
	}
	d := s.ensureDoc(now)
	d.addEvidence(evidence(sc))
	if st.Mode == ModeAdjust {
		d.Reason = v
		return accepted("adjustment reason %s", v)
	}
	d.Ref = v
	e, note := s.expect(v)
	d.Expect = e
	return accepted("reference %s%s", v, note)
}

func (s *station) location(loc edge.Location, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	if loc.Type == edge.LocVirtual {
		return refused("%s is a virtual location: scan a location that holds stock", loc.Name)
	}
	if d := st.Doc; d != nil && d.Pending != nil {
		return refused("%s", s.pendingPrompt(nil, d.Pending))
	}
	d := s.ensureDoc(now)
	d.addEvidence(evidence(sc))
	d.LastAdd = nil
	if st.Mode == ModeTransfer {
		if n := d.unplaced(); n > 0 {
			for i := range d.Lines {
				if d.Lines[i].To == "" && d.Lines[i].From == loc.Name {
					return refused("%s is the source of these lines: scan another destination", loc.Name)
				}
			}
			for i := range d.Lines {
				if d.Lines[i].To == "" {
					d.Lines[i].To = loc.Name
				}
			}
			return accepted("%d line(s) to %s; scan another source, or CMD:VALIDATE", n, loc.Name)
		}
		d.From = loc.Name
		return accepted("source %s; scan products", loc.Name)
	}
	if st.Mode.side() == "from" {
		d.From = loc.Name
	} else {
		d.To = loc.Name
	}
	return accepted("%s %s; scan products", sideName(st.Mode.side()), loc.Name)
}

// product handles a product scan: GTIN, GS1, weight label, or internal code.
func (s *station) product(ix *masterIndex, res barcode.Result, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	d := st.Doc
	var hit codeHit
	var mismatch *edge.Exception
	found := false
	lookup := func(code string) {
		if !found && code != "" {
			hit, found = ix.codes[codeKey(code)]
		}
	}
	switch res.Kind {
	case barcode.KindProduct, barcode.KindGS1:
		lookup(res.GTIN)
		lookup(res.ContentGTIN)
	case barcode.KindWeight, barcode.KindPrice:
		lookup(res.BaseCode)
		lookup(res.GTIN)
	}
	lookup(res.Data)

	// A label that only carries a lot, serial or expiry, or an unknown code while a lot
	// or serial is awaited, completes the pending product.
	if d != nil && d.Pending != nil {
		p := d.Pending
		if found && hit.item.SKU != p.SKU {
			return refused("%s", s.pendingPrompt(ix, p))
		}
		if !found && res.Kind == barcode.KindGS1 && res.GTIN == "" && res.ContentGTIN == "" ||
			found && res.Kind == barcode.KindGS1 {
			fillTracking(p, res)
		} else if !found && (res.Kind == barcode.KindInternal || res.Kind == barcode.KindProduct) {
			it := ix.skus[p.SKU]
			switch {
			case it != nil && it.needsSerial() && p.Serial == "":
				p.Serial = res.Data
			case it != nil && it.needsLot() && p.Lot == "":
				p.Lot = res.Data
			default:
				return refused("%s", s.pendingPrompt(ix, p))
			}
		} else {
			return refused("%s", s.pendingPrompt(ix, p))
		}
		d.addEvidence(evidence(sc))
		return s.completePending(ix, now)
	}
	if !found {
		switch {
		case res.Kind == barcode.KindGS1 && res.GTIN == "" && res.ContentGTIN == "":
			return unresolved("GS1 label without a product (GTIN): scan the product first")
		case res.Kind == barcode.KindPrice:
			return unresolved("price label %s: no item has its base code", res.Data)
		}
		return unresolved("unknown barcode %q: not an item, packaging or location", printable(sc.Data))
	}
	it := hit.item
	if res.Kind == barcode.KindPrice {
		return refused("%s: a price label carries no quantity; scan the product's own barcode", it.SKU)
	}
	side := st.Mode.side()
	loc := s.cfg.To
	if side == "from" {
		loc = s.cfg.From
	}
	if d != nil {
		loc = d.To
		if side == "from" {
			loc = d.From
		}
	}
	if loc == "" {
		return refused("scan the %s location first", sideName(side))
	}

	p := &pending{SKU: it.SKU, Mult: hit.qty, Qty: hit.qty, Packaging: hit.packaging,
		GTIN: res.GTIN, ContentGTIN: res.ContentGTIN}
	fillTracking(p, res)
	uom, _ := s.m.opts.Catalog.UoM(it.uom)
	weighed := uom.Name == "kg" || uom.Ref == "kg"
	switch {
	case res.WeightKg != "" && weighed && !isZero(res.WeightKg):
		// A weight label printed with 0 (a base code) carries no weight: the scale decides.
		q, msg := kgToUoM(res.WeightKg, uom)
		if msg != "" {
			return refused("%s: %s", it.SKU, msg)
		}
		p.Qty, p.WeightKg = q, res.WeightKg
	case res.Count != "":
		c, err := edge.ParseQty(res.Count)
		if err != nil || c.Sign() <= 0 {
			return refused("%s: label count %q is not usable", it.SKU, res.Count)
		}
		p.Qty = c.Mul(hit.qty)
	case st.NextQty != nil:
		p.Qty = st.NextQty.Mul(hit.qty)
	case weighed:
		if s.cfg.Scale == "" {
			return refused("%s is counted by weight: scan QTY: first (this station has no scale)", it.SKU)
		}
		w, why := s.m.reading(s.cfg.Scale, now)
		if why != "" {
			return refused("%s: %s", it.SKU, why)
		}
		if w.Kg.Sign() <= 0 {
			return refused("%s: the scale shows %s kg: put the goods on the scale", it.SKU, w.Kg)
		}
		q, msg := kgToUoM(w.Kg.String(), uom)
		if msg != "" {
			return refused("%s: %s", it.SKU, msg)
		}
		p.Qty, p.WeightKg = q, w.Kg.String()
		s.m.consume(s.cfg.Scale, w)
	case it.unitWeight != nil && s.cfg.Scale != "":
		w, why := s.m.reading(s.cfg.Scale, now)
		if why != "" {
			return refused("%s: %s", it.SKU, why)
		}
		unit := it.unitWeight.Decimal()
		if w.Kg.LessThanOrEqual(unit.Div(decimal.NewFromInt(2))) {
			break // an empty scale: the scan counts as usual
		}
		n := w.Kg.DivRound(unit, 12).Round(0)
		dev := w.Kg.Sub(n.Mul(unit)).Abs()
		tol := it.WeightToleranceOr(s.m.opts.Settings.WeightTolerance).Mul(unit)
		if dev.GreaterThan(tol) {
			return refused("%s: %s kg is %s units ± %s kg, outside the tolerance of ±%s kg: check the goods on the scale",
				it.SKU, w.Kg, n, dev, tol.Round(6))
		}
		p.Qty, p.WeightKg = edge.QtyFromDecimal(n), w.Kg.String()
		s.m.consume(s.cfg.Scale, w)
		if hit.packaging != "" {
			mismatch = packagingWeightMismatch(it.SKU, hit.packaging, hit.qty, *it.unitWeight, w.Kg, n, tol)
		}
	}
	st.NextQty = nil
	if d == nil {
		d = s.ensureDoc(now)
	}
	d.addEvidence(evidence(sc))
	d.Pending = p
	o := s.completePending(ix, now)
	if mismatch != nil && o.result != Refused {
		mismatch.Location, mismatch.Station = loc, s.cfg.Name
		o.exception = mismatch
		o.msg += fmt.Sprintf("; the weight says %s, the %s says %s: a supervisor is told", mismatch.Evidence["weighed_qty"], hit.packaging, hit.qty)
	}
	return o
}

// packagingWeightMismatch is the exception for a packaging whose weight disagrees with its
// nominal quantity by more than the tolerance (station_settings.weight_tolerance of one
// unit's weight): a case of 12 that weighs 11. The scan counts what the scale weighed; the
// exception keeps both figures for a supervisor. Nil when they agree.
func packagingWeightMismatch(sku, packaging string, nominal, unitKg edge.Qty, kg, counted, tol decimal.Decimal) *edge.Exception {
	expected := nominal.Decimal().Mul(unitKg.Decimal())
	off := kg.Sub(expected)
	if off.Abs().LessThanOrEqual(tol) {
		return nil
	}
	return &edge.Exception{
		Kind: edge.ExcWeightMismatch, Item: sku, Code: packaging,
		Message: fmt.Sprintf("%s %s: nominal %s units (%s kg), weighed %s kg = %s units; counted %s by weight",
			sku, packaging, nominal, expected, kg, counted, counted),
		Evidence: map[string]string{
			"packaging":      packaging,
			"nominal_qty":    nominal.String(),
			"expected_kg":    expected.String(),
			"weighed_kg":     kg.String(),
			"weighed_qty":    counted.String(),
			"unit_weight_kg": unitKg.String(),
			"difference_kg":  off.String(),
			"tolerance_kg":   tol.String(),
		},
	}
}

func isZero(dec string) bool {
	d, err := decimal.NewFromString(dec)
	return err == nil && d.IsZero()
}

// fillTracking copies what a GS1 label says about lot, serial and expiry.
func fillTracking(p *pending, res barcode.Result) {
	if res.Lot != "" {
		p.Lot = res.Lot
	}
	if res.Serial != "" {
		p.Serial = res.Serial
	}
	switch {
	case res.Expiry != "":
		p.Expiry = res.Expiry
	case res.BestBefore != "" && p.Expiry == "":
		p.Expiry = res.BestBefore
	}
}

// kgToUoM turns an exact weight in kg into a quantity of a weight unit, rounded to the
// unit's decimals (the exact weight is kept as evidence).
func kgToUoM(kg string, u edge.UoM) (edge.Qty, string) {
	w, err := decimal.NewFromString(kg)
	if err != nil || w.Sign() <= 0 {
		return edge.Qty{}, fmt.Sprintf("weight %q kg is not usable", kg)
	}
	if u.Ref == "kg" {
		w = w.DivRound(u.Factor.Decimal(), 12)
	}
	return edge.QtyFromDecimal(w.Round(int32(u.Decimals))), ""
}

func (s *station) pendingItem(p *pending) *itemInfo {
	ix, err := s.m.master.index()
	if err != nil {
		return nil
	}
	return ix.skus[p.SKU]
}

// pendingPrompt says what the pending product still needs.
func (s *station) pendingPrompt(ix *masterIndex, p *pending) string {
	if ix == nil {
		ix, _ = s.m.master.index()
	}
	var it *itemInfo
	if ix != nil {
		it = ix.skus[p.SKU]
	}
	need := missing(it, s.st.Mode, p)
	if need == "" {
		need = "the product"
	}
	return fmt.Sprintf("scan %s of %s (or CMD:UNDO)", need, p.SKU)
}

// missing says what the item's tracking rules (edge.Item.Missing, the same on every path
// that posts) still need from the pending product in this mode, in the station's words.
func missing(it *itemInfo, mode Mode, p *pending) string {
	if it == nil {
		return ""
	}
	field, _ := it.Missing(mode.TxType(), edge.Line{Lot: p.Lot, Serial: p.Serial, Expiry: p.Expiry})
	switch field {
	case "serial":
		return "the serial number (GS1 (21) or the serial label)"
	case "lot":
		return "the lot (GS1 (10) or the lot label)"
	case "expiry":
		return "the expiry date (GS1 (17))"
	}
	return ""
}

// completePending turns the pending product into a line when nothing is missing.
func (s *station) completePending(ix *masterIndex, now time.Time) outcome {
	st := &s.st
	d := st.Doc
	p := d.Pending
	it := ix.skus[p.SKU]
	if it == nil {
		d.Pending = nil
		return refused("%s is no longer in the master data", p.SKU)
	}
	if need := missing(it, s.st.Mode, p); need != "" {
		return prompt("%s: scan %s (or CMD:UNDO)", it.SKU, need)
	}
	l := edge.Line{Item: it.SKU, Qty: p.Qty, UoM: it.uom, Lot: p.Lot, Expiry: p.Expiry}
	if it.needsSerial() {
		// The ledger keys stock by lot; a serial-tracked item's lot is its serial (as in
		// Odoo, where stock.lot holds both), so the ledger tells where each serial is.
		l.Serial, l.Lot = p.Serial, p.Serial
		if !p.Qty.Equal(edge.QtyFromInt(1)) {
			d.Pending = nil
			return refused("%s is serial-numbered: scan one unit at a time", it.SKU)
		}
		if hasSerial(d, it.SKU, p.Serial) {
			d.Pending = nil
			return refused("serial %s of %s is already in this document", p.Serial, it.SKU)
		}
	}
	switch st.Mode {
	case ModeRelease:
		l.From, l.State, l.ToState = d.From, edge.Quarantine, edge.Available
	case ModeIssue, ModeScrap:
		l.From = d.From
	case ModeTransfer:
		l.From, l.To = d.From, d.To
	default:
		l.To = d.To
	}
	if l.Serial != "" {
		if why := s.checkSerial(l); why != "" {
			d.Pending = nil
			return refused("%s", why)
		}
	}
	d.Pending = nil
	vs, over := d.against(l.Item, l.Qty)
	if over && s.m.opts.Settings.RefuseOverExpected {
		return refused("%s %s: %s (refused: station_settings.refuse_over_expected)", l.Qty, l.Item, vs)
	}
	i := d.findLine(l)
	if i < 0 {
		d.Lines = append(d.Lines, l)
		i = len(d.Lines) - 1
	} else {
		d.Lines[i].Qty = d.Lines[i].Qty.Add(l.Qty)
	}
	line := &d.Lines[i]
	addPackaging(line, p.Packaging)
	if p.WeightKg != "" {
		w := decimal.RequireFromString(p.WeightKg)
		if line.WeightKg != "" {
			w = w.Add(decimal.RequireFromString(line.WeightKg))
		}
		line.WeightKg = w.String()
	}
	d.LastAdd = &lastAdd{Line: i, Qty: l.Qty, Mult: p.Mult, Weighed: p.WeightKg != ""}
	what := fmt.Sprintf("+%s %s %s", l.Qty, it.uom, it.SKU)
	if p.Packaging != "" {
		what += " (" + p.Packaging + ")"
	}
	if p.WeightKg != "" {
		what += " weighed " + p.WeightKg + " kg"
	}
	if l.Lot != "" && l.Serial == "" {
		what += " lot " + l.Lot
	}
	if l.Serial != "" {
		what += " serial " + l.Serial
	}
	if vs != "" {
		what += " (" + vs + ")"
	}
	o := accepted("%s → line %d: %s %s", what, i+1, line.Qty, line.UoM)
	if st.Mode == ModeTransfer && line.To == "" {
		o = prompt("%s → line %d: %s %s; scan the destination location", what, i+1, line.Qty, line.UoM)
	}
	o.keepLast = true
	return o
}

// checkSerial refuses a serial received while already in stock here, or taken from a
// location that does not hold it.
func (s *station) checkSerial(l edge.Line) string {
	rows, err := s.m.opts.Journal.Stock(edge.StockFilter{Item: l.Item, Lot: l.Serial})
	if err != nil {
		return fmt.Sprintf("cannot check serial %s: %v", l.Serial, err)
	}
	var at []string
	here := false
	for _, r := range rows {
		if r.Qty.Sign() > 0 {
			at = append(at, r.Location)
			if r.Location == l.From {
				here = true
			}
		}
	}
	switch s.st.Mode {
	case ModeReceive, ModeReturn:
		if len(at) > 0 {
			return fmt.Sprintf("serial %s of %s is already in stock at %s: it cannot be received twice", l.Serial, l.Item, strings.Join(at, ", "))
		}
	case ModeIssue, ModeTransfer, ModeScrap:
		if !here {
			where := "nowhere in this depot"
			if len(at) > 0 {
				where = "at " + strings.Join(at, ", ")
			}
			return fmt.Sprintf("serial %s of %s is not in stock at %s (it is %s)", l.Serial, l.Item, l.From, where)
		}
	}
	return ""
}

// needsApproval says why an adjustment or scrap needs a supervisor, or "".
func (s *station) needsApproval(ix *masterIndex, d *document) string {
	if d.Mode != ModeAdjust && d.Mode != ModeScrap {
		return ""
	}
	if r := s.st.Operator.Role; r == RoleSupervisor || r == RoleAdmin {
		return ""
	}
	a := s.m.opts.Settings.Approval
	total := d.total()
	if a.MaxQty != nil && a.MaxQty.Sign() > 0 && total.Cmp(*a.MaxQty) > 0 {
		return fmt.Sprintf("%s units is above %s", total, a.MaxQty)
	}
	if a.MaxValue.Sign() > 0 {
		var v edge.Qty
		for _, l := range d.Lines {
			if it := ix.skus[l.Item]; it != nil && it.unitValue != nil {
				q := l.Qty
				if q.Sign() < 0 {
					q = q.Neg()
				}
				v = v.Add(q.Mul(*it.unitValue))
			}
		}
		if v.Cmp(a.MaxValue) > 0 {
			return fmt.Sprintf("value %s is above %s", v, a.MaxValue)
		}
	}
	return ""
}

// commit posts the open document; approver is the supervisor who approved it, if any.
func (s *station) commit(ctx context.Context, approver *edge.Operator, now time.Time) outcome {
	st := &s.st
	d := st.Doc
	tx := edge.Transaction{
		ID: d.ID, Type: d.Mode.TxType(), Ref: d.Ref, Station: s.cfg.Name, Operator: st.Operator.Badge,
		Source: "station", Lines: append([]edge.Line(nil), d.Lines...), Scans: d.Scans,
	}
	if d.Mode == ModeAdjust {
		tx.Reason = d.Reason
		if tx.Reason == "" {
			tx.Reason = s.m.opts.Settings.AdjustReason
		}
		if d.Remove {
			for i := range tx.Lines {
				tx.Lines[i].Qty = tx.Lines[i].Qty.Neg()
			}
		}
	} else if d.Reason != "" {
		tx.Reason = d.Reason
	}
	var notes []string
	if approver != nil {
		notes = append(notes, fmt.Sprintf("approved by %s (%s)", approver.Badge, approver.Name))
	}
	if d.ScansDropped > 0 {
		notes = append(notes, fmt.Sprintf("%d further scans not kept as evidence", d.ScansDropped))
	}
	tx.Note = strings.Join(notes, "; ")
	out, existing, err := s.m.opts.Journal.Commit(ctx, tx)
	if err != nil {
		var fe *edge.FieldError
		var se *edge.StockError
		switch {
		case errors.As(err, &se):
			return refused("refused: only %s %s of %s at %s; CMD:UNDO or CMD:CANCEL", se.Have, "on hand", se.Item, se.Location)
		case errors.As(err, &fe):
			return refused("refused by the journal: %s", fe.Error())
		}
		s.m.log.Error("station commit failed", "station", s.cfg.Name, "id", tx.ID, "err", err)
		if errors.Is(err, edge.ErrOutcomeUnknown) {
			// The document is kept and its id is idempotent: validating again is safe.
			return refused("the journal could not confirm the commit: scan CMD:VALIDATE again (it is never posted twice)")
		}
		return refused("could not commit (%v): scan CMD:VALIDATE again", err)
	}
	st.Doc, st.NextQty = nil, nil
	if d.Ref != "" {
		s.m.closeRef(d.Ref, out.Seq)
	}
	o := accepted("validated: %s seq %d, %s", out.Type, out.Seq, d.summary())
	if existing {
		o.msg = fmt.Sprintf("already validated as %s seq %d", out.Type, out.Seq)
	}
	if approver != nil {
		o.msg += ", approved by " + approver.Name
	}
	o.seq = out.Seq
	return o
}
