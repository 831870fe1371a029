package odoo_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/uplink/odoo"
)

// odoo.batch defaults to 20 transactions per call; 1 (no batching) to 500 are accepted,
// anything else is reported under its key.
func TestTheBatchLimitDefaultsTo20AndOutOfRangeIsReportedUnderItsKey(t *testing.T) {
	var c odoo.Config
	c.ApplyDefaults()
	if c.Batch != 20 {
		t.Fatalf("default batch %d, want 20", c.Batch)
	}
	for _, tc := range []struct {
		batch int
		bad   bool
	}{{1, false}, {20, false}, {500, false}, {-1, true}, {501, true}} {
		c := odoo.Config{Batch: tc.batch}
		var got []string
		c.Check("odoo", func(key, msg string) {
			if key == "odoo.batch" {
				got = append(got, msg)
			}
		})
		if tc.bad != (len(got) == 1) || (tc.bad && !strings.Contains(got[0], "1 to 500")) {
			t.Errorf("batch %d: reported %q", tc.batch, got)
		}
	}
}
