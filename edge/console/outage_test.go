package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
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

// demoSwitch is a demo link switch as the test sees it.
type demoSwitch struct {
	mu   sync.Mutex
	down bool
}

func (d *demoSwitch) Down() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.down
}

func (d *demoSwitch) SetDown(v bool) {
	d.mu.Lock()
	d.down = v
	d.mu.Unlock()
}

// #19: the demo's dashboard cuts and restores the depot's link, so a newcomer can watch
// the backlog build and drain; outside the demo there is no such button, nor route.
func TestDemoDashboardSwitchesTheLink(t *testing.T) {
	sw := &demoSwitch{}
	e := startWeb(t, func(_ *console.Config, o *console.Options) { o.DemoLink = sw })
	b := logIn(t, e, 0)
	b.get("/")
	if !strings.Contains(b.last, `id="demo-cut"`) {
		t.Fatalf("no cut button on the demo dashboard:\n%s", b.last)
	}
	if r := b.post("/demo/uplink", url.Values{"down": {"1"}}); r.StatusCode != http.StatusSeeOther || !sw.Down() {
		t.Fatalf("cut: %d, down=%v", r.StatusCode, sw.Down())
	}
	if b.get("/"); !strings.Contains(b.last, `id="demo-restore"`) {
		t.Fatal("no restore button while the link is cut")
	}
	if r := b.post("/demo/uplink", url.Values{"down": {"0"}}); r.StatusCode != http.StatusSeeOther || sw.Down() {
		t.Fatalf("restore: %d, down=%v", r.StatusCode, sw.Down())
	}

	plain := startWeb(t, nil)
	pb := logIn(t, plain, 0)
	if pb.get("/"); strings.Contains(pb.last, "demo-switch") {
		t.Fatal("a depot that is not the demo offers to cut its uplink")
	}
	if r := pb.post("/demo/uplink", url.Values{"down": {"1"}}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("demo route outside the demo: %d", r.StatusCode)
	}
}
