package console_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

// switchUplink is the uplink's state as a test sets it.
type switchUplink struct {
	mu sync.Mutex
	v  console.UplinkView
}

func (u *switchUplink) UplinkStatus() console.UplinkView {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.v
}

func (u *switchUplink) set(v console.UplinkView) {
	u.mu.Lock()
	u.v = v
	u.mu.Unlock()
}

// #19: an outage cannot be missed: while the uplink is down every page says since when,
// how many transactions are safe on the gateway, and why in plain words; once the ERP's
// last ack is older than ack_alarm_after the banner turns to its alarm. Back online, it
// is gone.
func TestOutageBannerOnEveryPage(t *testing.T) {
	up := &switchUplink{}
	e := startWeb(t, func(c *console.Config, o *console.Options) { o.Uplink = up; c.AckAlarmAfter = time.Hour })
	for i := range 3 {
		if _, _, err := e.j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("r%d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}}); err != nil {
			t.Fatal(err)
		}
	}
	b := logIn(t, e, 2)
	pages := []string{"/", "/stations", "/stock", "/journal", "/post", "/exceptions", "/devices"}
	down := console.UplinkView{Online: false, Since: time.Now().Add(-5 * time.Minute), Broker: "tcp://erp:1883",
		LastError: "network Error : dial tcp 10.0.0.5:1883: connect: connection refused", LastAckAt: time.Now().Add(-6 * time.Minute)}
	up.set(down)
	for _, p := range pages {
		b.get(p)
		for _, want := range []string{`id="outage"`, "Uplink down since", "3 transactions are stored on this gateway",
			"the central broker refused the connection"} {
			if !strings.Contains(b.last, want) {
				t.Errorf("%s while the uplink is down lacks %q", p, want)
			}
		}
		if strings.Contains(b.last, `class="outage alarm"`) {
			t.Errorf("%s: alarm 6 min after the last ack, with ack_alarm_after 1h", p)
		}
	}
	down.LastAckAt = time.Now().Add(-2 * time.Hour)
	up.set(down)
	b.get("/stock")
	if !strings.Contains(b.last, `class="outage alarm"`) || !strings.Contains(b.last, "call central IT") {
		t.Errorf("last ack 2 h ago, ack_alarm_after 1h: no alarm in\n%s", b.last)
	}
	up.set(console.UplinkView{Online: true, Since: time.Now()})
	for _, p := range pages {
		if b.get(p); strings.Contains(b.last, `id="outage"`) {
			t.Errorf("%s shows the outage banner while the uplink is up", p)
		}
	}
}
