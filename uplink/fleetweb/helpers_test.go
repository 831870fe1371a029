package fleetweb_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/fleetweb"
)

// fasthttp (under fiber) keeps a process-wide date updater, and its worker pool's cleaner
// notices Stop only after its sleep: neither belongs to a server still running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"))
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// clock is a journal clock that a test can set back, to make a depot's pending
// transactions old without waiting.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time { return time.Now().Add(-time.Duration(c.off.Load())) }

// depot is a real depot's storage and uplink: a bbolt journal and uplink.Uplink on a broker.
type depot struct {
	id     string
	j      *edge.Journal
	clk    *clock
	cancel context.CancelFunc
	done   chan error
	seq    int
}

type devs []uplink.DeviceStatus

func (d devs) DeviceStates() []uplink.DeviceStatus { return d }

func startDepot(t *testing.T, broker, id string, devices devs) *depot {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &depot{id: id, clk: &clock{}}
	d.j, err = edge.Open(filepath.Join(t.TempDir(), "depotd.db"), edge.Options{Depot: id, Catalog: cat, Now: d.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := uplink.Config{Brokers: []string{broker}, StatusInterval: 2 * time.Second, KeepAlive: 5 * time.Second}
	var dl uplink.DeviceLister
	if devices != nil {
		dl = devices
	}
	u, err := uplink.New(cfg, id, d.j, dl, quietLog(), uplink.WithVersion("test"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- u.Run(ctx) }()
	t.Cleanup(func() {
		d.stop(t)
		if probs := d.j.Check(); len(probs) > 0 {
			t.Errorf("%s journal check: %v", id, probs)
		}
		d.j.Close()
	})
	return d
}

// stop ends the uplink as SIGTERM does: it publishes its retained online:false.
func (d *depot) stop(t *testing.T) {
	t.Helper()
	if d.cancel == nil {
		return
	}
	d.cancel()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("%s uplink: %v", d.id, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("%s uplink did not stop", d.id)
	}
	d.cancel = nil
}

// post commits n receipts; with age, they are committed that long ago.
func (d *depot) post(t *testing.T, n int, age time.Duration) {
	t.Helper()
	d.clk.off.Store(int64(age))
	defer d.clk.off.Store(0)
	for range n {
		d.seq++
		_, _, err := d.j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("%s-%d", d.id, d.seq), Type: edge.Receipt,
			Station: "RCV-1", Operator: "op", Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// page is a fleet page fed by a real MQTT subscription, as `depotd fleet --listen` runs it.
type page struct {
	url   string
	srv   *fleetweb.Server
	fleet *uplink.Fleet
}

const (
	viewerName = "ops"
	viewerPass = "fleet-pass-1"
)

func startPage(t *testing.T, broker string) *page {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(viewerPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	fl := uplink.NewFleet("depots/")
	srv, err := fleetweb.New(fleetweb.Options{Fleet: fl, Log: quietLog(),
		Users:  []fleetweb.User{{Name: viewerName, PasswordHash: string(hash), Role: "viewer"}},
		Verify: func(h, p string) bool { return bcrypt.CompareHashAndPassword([]byte(h), []byte(p)) == nil }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("fleet-page-test").SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fleet client connect: %v", tok.Error())
	}
	tok := c.Subscribe(fl.Filter(), 1, func(_ mqtt.Client, m mqtt.Message) {
		if _, _, err := srv.Update(m.Topic(), m.Payload(), m.Retained()); err != nil {
			t.Errorf("fleet update %s: %v", m.Topic(), err)
		}
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() {
		c.Disconnect(50)
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &page{url: "http://" + ln.Addr().String(), srv: srv, fleet: fl}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// noRedirect is an HTTP client that shows redirects instead of following them.
var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
