package uplink_test

import (
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// The basic contract, run against both brokers: a backlog drains in full, every seq
// reaches an independent subscriber, the ERP applies everything in order.
func TestDrain(t *testing.T) {
	for _, broker := range []struct {
		name  string
		start func(testing.TB) string
	}{
		{"mochi", func(tb testing.TB) string { return brokertest.StartMochi(tb).URL() }},
		{"mosquitto", func(tb testing.TB) string { return brokertest.StartMosquitto(tb).URL() }},
	} {
		t.Run(broker.name, func(t *testing.T) {
			url := broker.start(t)
			j := mustJournal(t, "")
			post(t, j, 0, 2000)
			sim := startSim(t, url, nil)
			rec := startRecorder(t, url, "depots/D1/tx")
			startUplink(t, uplink.Config{Brokers: []string{url}, Inflight: 500}, j)
			waitFor(t, 30*time.Second, "outbox drained", drained(j))
			// The recorder is an independent subscriber: it may see the last messages a
			// little after the ERP acked them.
			waitFor(t, 10*time.Second, "every seq at an independent subscriber", func() bool { return len(rec.missing(2000)) == 0 })
			if st := sim.Stats(depotID); st.Applied != 2000 {
				t.Fatalf("ERP applied %d, want 2000 (%+v)", st.Applied, st)
			}
		})
	}
}
