package edge_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

var orderpointCases = []struct {
	name, payload, wantErr string
}{
	{"good", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"WH/Stock","min":"10","max":"50","multiple":"12","source":"central"},
		{"item":"A","location":"Van-1","min":"0","max":"6","multiple":"1","source":"WH/Stock"}]}`, ""},
	{"empty list", `{"v":1,"version":"7","orderpoints":[]}`, ""},
	{"unknown member", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"1","max":"2","multiple":"1","source":"central","route":"x"}]}`, "unknown field"},
	{"no item", `{"v":1,"version":"7","orderpoints":[{"location":"L","min":"1","max":"2","multiple":"1","source":"central"}]}`, "orderpoints[0].item: required"},
	{"no location", `{"v":1,"version":"7","orderpoints":[{"item":"A","min":"1","max":"2","multiple":"1","source":"central"}]}`, "orderpoints[0].location: required"},
	{"no source", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"1","max":"2","multiple":"1"}]}`, "orderpoints[0].source: required"},
	{"itself", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"1","max":"2","multiple":"1","source":"L"}]}`, "cannot replenish itself"},
	{"negative min", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"-1","max":"2","multiple":"1","source":"central"}]}`, "orderpoints[0].min"},
	{"max below min", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"5","max":"2","multiple":"1","source":"central"}]}`, "orderpoints[0].max"},
	{"no multiple", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"1","max":"2","source":"central"}]}`, "orderpoints[0].multiple"},
	{"not a number", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"x","max":"2","multiple":"1","source":"central"}]}`, "master orderpoints"},
	{"twice", `{"v":1,"version":"7","orderpoints":[{"item":"A","location":"L","min":"1","max":"2","multiple":"1","source":"central"},
		{"item":"A","location":"L","min":"1","max":"3","multiple":"1","source":"central"}]}`, "a second orderpoint for A at L"},
	{"v2", `{"v":2,"version":"7","orderpoints":[]}`, "unsupported payload version"},
	{"no version", `{"v":1,"orderpoints":[]}`, "version: required"},
}

// TestOrderpointsMasterDataIsValidatedAsStrictlyAsTheConfigsRules: every broken
// orderpoint payload is refused naming the field, and a good one gives its version.
func TestOrderpointsMasterDataIsValidatedAsStrictlyAsTheConfigsRules(t *testing.T) {
	for _, tc := range orderpointCases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := edge.ValidateMaster(edge.MasterKindOrderpoints, []byte(tc.payload))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr == "" && v != "7":
				t.Fatalf("version %q, want 7", v)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// FuzzValidateOrderpoints: any payload is refused with an error or accepted with a
// version, never a panic; an accepted one holds only rules the proposer can apply.
func FuzzValidateOrderpoints(f *testing.F) {
	for _, tc := range orderpointCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		v, err := edge.ValidateMaster(edge.MasterKindOrderpoints, payload)
		if err != nil {
			return
		}
		if v == "" {
			t.Fatal("accepted without a version")
		}
		var m edge.MasterOrderpoints
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatalf("accepted but unreadable: %v", err)
		}
		for _, o := range m.Orderpoints {
			if o.Min.Sign() < 0 || o.Max.LessThan(o.Min) || o.Max.Sign() <= 0 || o.Multiple.Sign() <= 0 || o.Item == "" || o.Source == o.Location {
				t.Fatalf("accepted an orderpoint the proposer cannot apply: %+v", o)
			}
		}
	})
}
