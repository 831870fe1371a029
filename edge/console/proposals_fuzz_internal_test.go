package console

import (
	"errors"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// FuzzDecisionIsDecodedAndValidatedOrRefusedWithItsField: any body is either refused
// with a clear error, or decodes to a decision that is either refused naming its field
// or is a journalable event: a known action, a trimmed reason of 1..500 bytes, and for a
// change a quantity above zero.
func FuzzDecisionIsDecodedAndValidatedOrRefusedWithItsField(f *testing.F) {
	for _, s := range []string{
		`{"action":"approve","reason":"needed"}`, `{"action":"change","qty":"36","reason":"shelf"}`,
		`{"action":"change","qty":"0","reason":"x"}`, `{"action":"change","qty":"-1","reason":"x"}`,
		`{"action":"change","qty":"1e3","reason":"x"}`, `{"action":"dismiss","reason":"  "}`,
		`{"action":"dismiss","reason":"x","by":"bot"}`, `{"action":"nope","reason":"x"}`,
		`{"action":"approve","reason":"x","extra":1}`, `{"action":"approve"}{}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := decodeDecision(body)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "expected {") {
				t.Fatalf("%q: unclear error %v", body, err)
			}
			return
		}
		ev, field, err := decisionEvent(req.Action, req.Qty, req.Reason, "sup")
		if err != nil {
			if field == "" || !errors.Is(err, errDecide) {
				t.Fatalf("%q: refused without a field or not as a decision: %q %v", body, field, err)
			}
			return
		}
		if ev.Reason == "" || len(ev.Reason) > 500 || ev.Reason != strings.TrimSpace(ev.Reason) {
			t.Fatalf("%q: reason %q accepted", body, ev.Reason)
		}
		switch ev.Action {
		case edge.ProposalApprove, edge.ProposalDismiss:
			if ev.Qty != nil {
				t.Fatalf("%q: %s carries a quantity", body, ev.Action)
			}
		case edge.ProposalChange:
			if ev.Qty == nil || ev.Qty.Sign() <= 0 {
				t.Fatalf("%q: change to %v accepted", body, ev.Qty)
			}
		default:
			t.Fatalf("%q: action %q accepted", body, ev.Action)
		}
	})
}
