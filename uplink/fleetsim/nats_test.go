package fleetsim_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/fleetsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// TestAFleetOnANATSClusterGetsOnlineWithFourConsumersPerDepot is the fleet measurement on
// the 3-node NATS cluster (PROTOCOL.md "Brokers"), run on demand: FLEETSIM_NATS_DEPOTS=N
// (FLEETSIM_NATS_RAMP, default 100 ms a depot; FLEETSIM_NATS_DURATION, default 60s). The
// depots start over the ramp and wait out slow SUBACKs (uplink.subscribe_timeout), so
// every depot gets online, nothing is lost, and the cluster holds no more consumers than
// the depots' 4 each (plus the ERP simulator's few): a depot that gave up on a SUBSCRIBE
// and subscribed again would leave the consumers of its first attempt behind.
func TestAFleetOnANATSClusterGetsOnlineWithFourConsumersPerDepot(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("FLEETSIM_NATS_DEPOTS"))
	if n <= 0 {
		t.Skip("a fleet measurement: set FLEETSIM_NATS_DEPOTS=N to run it")
	}
	ramp := time.Duration(n) * 100 * time.Millisecond
	if v := os.Getenv("FLEETSIM_NATS_RAMP"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FLEETSIM_NATS_RAMP: %v", err)
		}
		ramp = d
	}
	duration := time.Minute
	if v := os.Getenv("FLEETSIM_NATS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("FLEETSIM_NATS_DURATION: %v", err)
		}
		duration = d
	}
	cl := brokertest.StartNATSCluster(t, 3)
	urls := cl.URLs()
	sim := startERP(t, urls[0])
	t.Logf("load average at the start: %s", loadavg())
	rep, err := fleetsim.Run(context.Background(), fleetsim.Config{
		Depots: n, Rate: 1, Duration: duration, Drain: time.Minute, Ramp: ramp,
		Uplink:        uplink.Config{Brokers: urls},
		Dir:           t.TempDir(),
		ERP:           erpOf(sim),
		ProgressEvery: 10 * time.Second,
		Progress:      func(p fleetsim.Progress) { t.Logf("%v  load %s", p, loadavg()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load average at the end: %s", loadavg())
	t.Logf("report:\n%s", rep)
	consumers := make([]int, len(cl.Nodes))
	for i, node := range cl.Nodes {
		consumers[i] = node.Consumers()
	}
	t.Logf("JetStream consumers per node: %v (%d depots)", consumers, n)
	if !rep.AllOnlineKnown {
		t.Errorf("never all %d depots online at once", n)
	}
	if err := rep.Check(); err != nil {
		t.Error(err)
	}
	for i, c := range consumers {
		if c > 4*n+10 {
			t.Errorf("node %s holds %d consumers, more than the depots' 4 each (%d) and the ERP simulator's: subscriptions were retried", cl.Nodes[i].Name, c, 4*n)
		}
	}
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
