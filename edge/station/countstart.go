package station

import (
	"strings"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/edge"
)

// countArg reads the count list's command "COUNT:<location>" (the barcode CMD:COUNT:<location>
// printed beside each location of an item on the count sheet). The location keeps its case;
// plain CMD:COUNT, which only switches mode, is not it.
func countArg(value string) (string, bool) {
	if len(value) <= len("COUNT:") || !strings.EqualFold(value[:len("COUNT:")], "COUNT:") {
		return "", false
	}
	return value[len("COUNT:"):], true
}

// startCount starts a count at a location from the count list: count mode with the
// document's location set, as if the operator had scanned CMD:COUNT and the location.
// An open document with lines is kept (refused), as for any mode switch, unless it is
// already a count at that location.
func (s *station) startCount(name string, sc devices.Scan, now time.Time) outcome {
	st := &s.st
	loc, ok := s.m.opts.Catalog.Location(name)
	switch {
	case !ok:
		return unresolved("unknown location %q on the count sheet", name)
	case loc.Type == edge.LocVirtual:
		return refused("%s is a virtual location: nothing to count there", loc.Name)
	}
	if d := st.Doc; d != nil && (len(d.Lines) > 0 || d.Pending != nil) {
		if d.Mode == ModeCount && d.To == loc.Name {
			return accepted("already counting at %s; scan products", loc.Name)
		}
		return refused("validate or cancel the open %s document first (%s)", d.Mode, d.summary())
	}
	st.Mode, st.Doc, st.NextQty = ModeCount, nil, nil
	d := s.ensureDoc(now)
	d.To = loc.Name
	d.addEvidence(evidence(sc))
	return accepted("mode count at %s (from the count list); scan products", loc.Name)
}
