package odoo_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// BenchmarkPollOfAnUnchangedOdooVersusFullRead measures what the downlink asks Odoo every
// poll (the stamps of items and locations) against what it would cost to read the
// payloads in full each time (the baseline, in the same run), on the shared test database
// as it is.
//
//	go test ./uplink/odoo -run '^$' -bench PollOfAnUnchanged -benchtime 20x
func BenchmarkPollOfAnUnchangedOdooVersusFullRead(b *testing.B) {
	env := odootest.Need(b)
	c := env.Client(b)
	d := odoo.NewDownlinkForTest(c, []odoo.Depot{{ID: "B1", Warehouse: "WH"}})
	ctx := context.Background()
	kinds := []string{edge.MasterKindItems, edge.MasterKindLocations}
	var poll, full time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for _, k := range kinds {
			if _, err := d.Stamp(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		poll += time.Since(start)
		start = time.Now()
		for _, k := range kinds {
			if err := d.Build(ctx, k); err != nil {
				b.Fatal(err)
			}
		}
		full += time.Since(start)
	}
	b.ReportMetric(float64(poll.Microseconds())/1000/float64(b.N), "poll-ms")
	b.ReportMetric(float64(full.Microseconds())/1000/float64(b.N), "full-read-ms")
	b.ReportMetric(float64(full)/float64(poll), "full/poll")
	var n json.Number
	if err := c.Call(ctx, "product.product", "search_count", map[string]any{"domain": []any{}}, &n); err == nil {
		b.Logf("products in the database: %v", n)
	}
}
