package erpcore_test

import (
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/erpcore"
)

var claimCases = []struct {
	name, payload, err string
}{
	{"good", `{"v":1,"owner":"erp-a","at":"2026-12-03T14:00:00.5Z","lease_s":30}`, ""},
	{"not json", `{"v":1,`, "claim:"},
	{"future version", `{"v":2,"owner":"erp-a","at":"2026-12-03T14:00:00Z","lease_s":30}`, "v 2"},
	{"no owner", `{"v":1,"at":"2026-12-03T14:00:00Z","lease_s":30}`, "no owner"},
	{"bad at", `{"v":1,"owner":"erp-a","at":"yesterday","lease_s":30}`, "at:"},
	{"no lease", `{"v":1,"owner":"erp-a","at":"2026-12-03T14:00:00Z"}`, "lease_s"},
	{"lease of a day", `{"v":1,"owner":"erp-a","at":"2026-12-03T14:00:00Z","lease_s":86400}`, "lease_s"},
	{"negative lease", `{"v":1,"owner":"erp-a","at":"2026-12-03T14:00:00Z","lease_s":-1}`, "lease_s"},
}

func TestParseClaimTakesAGoodClaimAndRefusesEveryBadOneWithItsReason(t *testing.T) {
	for _, c := range claimCases {
		cl, until, err := erpcore.ParseClaim([]byte(c.payload))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err == "" && (cl.Owner != "erp-a" || !until.Equal(time.Date(2026, 12, 3, 14, 0, 30, 5e8, time.UTC))):
			t.Errorf("%s: %+v until %v", c.name, cl, until)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: err %v, want one with %q", c.name, err, c.err)
		}
	}
}

// Any payload either parses into a claim with an owner and a lease of at most an hour, or
// is refused; nothing panics.
func FuzzParseClaim(f *testing.F) {
	for _, c := range claimCases {
		f.Add([]byte(c.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		cl, until, err := erpcore.ParseClaim(payload)
		if err != nil {
			return
		}
		if cl.Owner == "" || cl.LeaseS <= 0 || cl.LeaseS > 3600 || until.IsZero() {
			t.Fatalf("accepted %q as %+v until %v", payload, cl, until)
		}
	})
}
