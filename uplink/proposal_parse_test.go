package uplink_test

import (
	"errors"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
)

var proposalCases = []struct {
	name, payload string
	want          error
}{
	{"good", `{"v":1,"depot":"D1","id":7,"item":"SKU-1","location":"WH/Stock","source":"central","qty":"48","min":"10","max":"50","multiple":"12","available":"5","at":"2026-12-03T09:12:00Z","approved_at":"2026-12-03T09:40:11Z","approved_by":"sam","reason":"x","later":1}`, nil},
	{"not json", `{"v":1,`, uplink.ErrBadPayload},
	{"v2", `{"v":2,"depot":"D1","id":7,"item":"S","location":"L","source":"central","qty":"1"}`, uplink.ErrBadVersion},
	{"no id", `{"v":1,"depot":"D1","item":"S","location":"L","source":"central","qty":"1"}`, uplink.ErrInvalid},
	{"no depot", `{"v":1,"id":7,"item":"S","location":"L","source":"central","qty":"1"}`, uplink.ErrInvalid},
	{"no item", `{"v":1,"depot":"D1","id":7,"location":"L","source":"central","qty":"1"}`, uplink.ErrInvalid},
	{"no source", `{"v":1,"depot":"D1","id":7,"item":"S","location":"L","qty":"1"}`, uplink.ErrInvalid},
	{"itself", `{"v":1,"depot":"D1","id":7,"item":"S","location":"L","source":"L","qty":"1"}`, uplink.ErrInvalid},
	{"zero qty", `{"v":1,"depot":"D1","id":7,"item":"S","location":"L","source":"central","qty":"0"}`, uplink.ErrInvalid},
	{"bad qty", `{"v":1,"depot":"D1","id":7,"item":"S","location":"L","source":"central","qty":"lots"}`, uplink.ErrBadPayload},
}

// TestTheERPReadsAnApprovedProposalAndRefusesOneItCannotActOn: each broken proposal is
// refused with the error kind that says why; a good one round-trips what the depot sent.
func TestTheERPReadsAnApprovedProposalAndRefusesOneItCannotActOn(t *testing.T) {
	for _, tc := range proposalCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := uplink.ParseProposal([]byte(tc.payload))
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want == nil && (p.ID != 7 || p.Qty.String() != "48" || p.Source != "central" || p.ApprovedBy != "sam") {
				t.Fatalf("read %+v", p)
			}
		})
	}
	raw, err := uplink.ProposalPayload("D1", edge.Proposal{ID: 3, Item: "A", Location: "Van-1", Source: "WH/Stock", Qty: edge.QtyFromInt(5),
		History: []edge.ProposalEvent{{At: time.Now(), By: "sam", Action: edge.ProposalApprove}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := uplink.ParseProposal(raw); err != nil || p.ID != 3 || p.Source != "WH/Stock" {
		t.Fatalf("the depot's own payload read back as %+v, %v", p, err)
	}
}

func FuzzParseProposal(f *testing.F) {
	for _, tc := range proposalCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := uplink.ParseProposal(payload)
		if err != nil {
			if !errors.Is(err, uplink.ErrBadPayload) && !errors.Is(err, uplink.ErrBadVersion) && !errors.Is(err, uplink.ErrInvalid) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		if p.ID == 0 || p.Qty.Sign() <= 0 || p.Item == "" || p.Source == p.Location {
			t.Fatalf("accepted a proposal the ERP cannot act on: %+v", p)
		}
	})
}
