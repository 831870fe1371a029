package erpcore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ledger is an in-memory ERP: it keeps each depot's applied seq and what it applied,
// idempotently, as Odoo's post action does.
type ledger struct {
	mu      sync.Mutex
	applied map[string]uint64
	calls   map[string][]uint64 // every Apply call, in order
	moves   map[string][]uint64 // seqs that moved stock
	// fail, when set, is asked before each Apply: a non-nil error is returned instead.
	fail func(tx erpcore.Tx) error
	// reject, when set, rejects a seq with a code.
	reject func(tx erpcore.Tx) string
	// hold, when set, blocks Apply of that tx until the channel is closed.
	hold func(tx erpcore.Tx) chan struct{}
}

func newLedger() *ledger {
	return &ledger{applied: map[string]uint64{}, calls: map[string][]uint64{}, moves: map[string][]uint64{}}
}

func (l *ledger) AppliedSeq(_ context.Context, depot string) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.applied[depot], nil
}

func (l *ledger) Apply(ctx context.Context, tx erpcore.Tx) (erpcore.Result, error) {
	l.mu.Lock()
	l.calls[tx.Depot] = append(l.calls[tx.Depot], tx.Seq)
	fail, reject, hold := l.fail, l.reject, l.hold
	l.mu.Unlock()
	if hold != nil {
		if ch := hold(tx); ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return erpcore.Result{}, ctx.Err()
			}
		}
	}
	if fail != nil {
		if err := fail(tx); err != nil {
			return erpcore.Result{}, err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.applied[tx.Depot]
	switch {
	case tx.Seq <= a:
		return erpcore.Result{Status: erpcore.Duplicate, AppliedSeq: a}, nil
	case tx.Seq > a+1:
		return erpcore.Result{Status: erpcore.Gap, AppliedSeq: a}, nil
	}
	l.applied[tx.Depot] = tx.Seq
	if reject != nil {
		if code := reject(tx); code != "" {
			return erpcore.Result{Status: erpcore.Rejected, Code: code, Message: "refused by the test", AppliedSeq: tx.Seq}, nil
		}
	}
	l.moves[tx.Depot] = append(l.moves[tx.Depot], tx.Seq)
	return erpcore.Result{Status: erpcore.Applied, AppliedSeq: tx.Seq}, nil
}

func (l *ledger) snapshot(depot string) (calls, moves []uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint64(nil), l.calls[depot]...), append([]uint64(nil), l.moves[depot]...)
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startCore runs a Core until the test ends (or stop is called).
func startCore(t *testing.T, broker string, a erpcore.Applier, tune func(*erpcore.Config)) (c *erpcore.Core, stop func()) {
	t.Helper()
	cfg := erpcore.Config{Brokers: []string{broker}, ClientID: fmt.Sprintf("erp-%d", time.Now().UnixNano()), Applier: a,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond, GapWait: 300 * time.Millisecond, Log: testLog(t)}
	if tune != nil {
		tune(&cfg)
	}
	c, err := erpcore.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Run did not return within 20s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return c, stop
}

// fakeDepot is a raw MQTT client playing the depot: it publishes tx messages as it is told
// (duplicates, gaps, poison) and records the acks and commands it gets.
type fakeDepot struct {
	id   string
	c    mqtt.Client
	mu   sync.Mutex
	acks []edge.Ack
	cmds []map[string]any
}

func newFakeDepot(t *testing.T, broker, id string) *fakeDepot {
	t.Helper()
	d := &fakeDepot{id: id}
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("fake-" + id + fmt.Sprint(time.Now().UnixNano())).
		SetCleanSession(true).SetOrderMatters(true)
	d.c = mqtt.NewClient(opts)
	if tok := d.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("fake depot connect: %v", tok.Error())
	}
	t.Cleanup(func() { d.c.Disconnect(50) })
	sub := func(topic string, fn func(p []byte)) {
		tok := d.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { fn(m.Payload()) })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("subscribe %s: %v", topic, tok.Error())
		}
	}
	sub("depots/"+id+"/ack", func(p []byte) {
		var a edge.Ack
		json.Unmarshal(p, &a)
		d.mu.Lock()
		d.acks = append(d.acks, a)
		d.mu.Unlock()
	})
	sub("depots/"+id+"/cmd", func(p []byte) {
		var m map[string]any
		json.Unmarshal(p, &m)
		d.mu.Lock()
		d.cmds = append(d.cmds, m)
		d.mu.Unlock()
	})
	return d
}

func (d *fakeDepot) raw(t *testing.T, payload string) {
	t.Helper()
	tok := d.c.Publish("depots/"+d.id+"/tx", 1, false, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

func (d *fakeDepot) send(t *testing.T, seqs ...uint64) {
	t.Helper()
	for _, s := range seqs {
		d.raw(t, fmt.Sprintf(`{"v":1,"depot":%q,"id":"tx-%d","seq":%d,"type":"receipt","lines":[{"item":"SKU-1","qty":"1","to":"WH/Stock"}]}`, d.id, s, s))
	}
}

func (d *fakeDepot) watermark() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var w uint64
	for _, a := range d.acks {
		w = max(w, a.UptoSeq)
	}
	return w
}

func (d *fakeDepot) rejections() map[uint64]string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[uint64]string{}
	for _, a := range d.acks {
		for _, r := range a.Rejected {
			out[r.Seq] = r.Code
		}
	}
	return out
}

func (d *fakeDepot) resendsFrom() []float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []float64
	for _, c := range d.cmds {
		if c["cmd"] == "resend" {
			f, _ := c["from_seq"].(float64)
			out = append(out, f)
		}
	}
	return out
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDuplicatesAndOutOfOrderSeqsAreAppliedOnceInSeqOrder(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	// Redeliveries, a replay of the past and seqs overtaking each other.
	d.send(t, 1, 2, 2, 1, 4, 3, 5, 3, 6, 7, 8, 10, 9, 10)
	waitFor(t, 10*time.Second, "ack of 10", func() bool { return d.watermark() == 10 })
	calls, moves := l.snapshot("D1")
	if !equal(moves, seqs(1, 10)) || !equal(calls, seqs(1, 10)) {
		t.Fatalf("applier calls %v, moves %v; want 1..10 once each, in order", calls, moves)
	}
	if st := core.Stats("D1"); st.Applied != 10 || st.Received != 14 || st.Processed != 10 {
		t.Fatalf("stats %+v", st)
	}
	// A duplicate after the ack is acknowledged again (the depot may have missed the ack),
	// never applied again.
	before := core.Stats("D1").AcksSent
	d.send(t, 4)
	waitFor(t, 10*time.Second, "re-ack of a duplicate", func() bool { return core.Stats("D1").AcksSent > before })
	if calls, _ := l.snapshot("D1"); len(calls) != 10 {
		t.Fatalf("a duplicate reached the applier: %v", calls)
	}
}

func TestTheAckWaitsUntilTheApplierCommitted(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	release := make(chan struct{})
	l.hold = func(tx erpcore.Tx) chan struct{} {
		if tx.Seq == 2 {
			return release
		}
		return nil
	}
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2, 3)
	waitFor(t, 10*time.Second, "ack of 1", func() bool { return d.watermark() == 1 })
	waitFor(t, 10*time.Second, "seq 2 in the applier", func() bool { c, _ := l.snapshot("D1"); return len(c) == 2 })
	// While the applier holds seq 2, the broker's PUBACKs of 2 and 3 long done, nothing
	// above 1 is acknowledged: a round trip through the broker proves the ack is not just late.
	d.send(t, 1)
	waitFor(t, 10*time.Second, "re-ack of 1", func() bool { return core.Stats("D1").AcksSent >= 2 })
	if w := d.watermark(); w != 1 {
		t.Fatalf("watermark %d while seq 2 was not committed", w)
	}
	close(release)
	waitFor(t, 10*time.Second, "ack of 3", func() bool { return d.watermark() == 3 })
}

func TestARejectedSeqIsAckedWithItsCodeAndTheNextOneApplied(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	l.reject = func(tx erpcore.Tx) string {
		if tx.Seq == 2 {
			return "UNKNOWN_ITEM"
		}
		return ""
	}
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2, 3)
	waitFor(t, 10*time.Second, "ack of 3", func() bool { return d.watermark() == 3 })
	if r := d.rejections(); len(r) != 1 || r[2] != "UNKNOWN_ITEM" {
		t.Fatalf("rejections in acks: %v, want seq 2 UNKNOWN_ITEM", r)
	}
	if _, moves := l.snapshot("D1"); !equal(moves, []uint64{1, 3}) {
		t.Fatalf("moves %v, want 1 and 3", moves)
	}
	// Once an ack carrying it was accepted, the rejection is not repeated.
	n := core.Stats("D1").AcksSent
	d.send(t, 3)
	waitFor(t, 10*time.Second, "re-ack", func() bool { return core.Stats("D1").AcksSent > n })
	d.mu.Lock()
	last := d.acks[len(d.acks)-1]
	d.mu.Unlock()
	if len(last.Rejected) != 0 {
		t.Fatalf("rejection repeated in a later ack: %+v", last)
	}
}

func TestAGapIsWaitedOnThenAResendIsAskedFromTheWatermark(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	d := newFakeDepot(t, b.URL(), "D1")
	startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2, 4, 5)
	waitFor(t, 10*time.Second, "ack of 2", func() bool { return d.watermark() == 2 })
	waitFor(t, 10*time.Second, "resend from 3", func() bool {
		r := d.resendsFrom()
		return r[len(r)-1] == 3
	})
	if _, moves := l.snapshot("D1"); !equal(moves, []uint64{1, 2}) {
		t.Fatalf("applied past a gap: %v", moves)
	}
	d.send(t, 3)
	waitFor(t, 10*time.Second, "ack of 5", func() bool { return d.watermark() == 5 })
	if calls, _ := l.snapshot("D1"); !equal(calls, seqs(1, 5)) {
		t.Fatalf("calls %v", calls)
	}
}

func TestADepotStuckOnAFailingSeqHoldsUpNoOtherDepot(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	l.fail = func(tx erpcore.Tx) error {
		if tx.Depot == "D1" && tx.Seq == 2 {
			return errors.New("odoo: server error (test)")
		}
		return nil
	}
	d1 := newFakeDepot(t, b.URL(), "D1")
	d2 := newFakeDepot(t, b.URL(), "D2")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1", "D2"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d1.resendsFrom()) > 0 && len(d2.resendsFrom()) > 0 })
	d1.send(t, seqs(1, 5)...)
	d2.send(t, seqs(1, 50)...)
	waitFor(t, 10*time.Second, "D2 acked to 50", func() bool { return d2.watermark() == 50 })
	waitFor(t, 10*time.Second, "D1 retrying seq 2", func() bool { return core.Stats("D1").Errors >= 3 })
	if w := d1.watermark(); w != 1 {
		t.Fatalf("D1 watermark %d: a failing seq 2 was acknowledged or skipped", w)
	}
	l.mu.Lock()
	l.fail = nil
	l.mu.Unlock()
	waitFor(t, 10*time.Second, "D1 acked to 5 once seq 2 passes", func() bool { return d1.watermark() == 5 })
	if _, moves := l.snapshot("D1"); !equal(moves, seqs(1, 5)) {
		t.Fatalf("D1 moves %v", moves)
	}
}

func TestPoisonPayloadsAreCountedAndNeverStallTheDepot(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	d := newFakeDepot(t, b.URL(), "D1")
	core, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1)
	for _, p := range []string{`not json`, `[1,2]`, `{"depot":"D1","seq":2}`, `{"v":2,"depot":"D1","seq":2}`,
		`{"v":1,"depot":"D9","seq":2}`, `{"v":1,"depot":"D1"}`, `{"v":1,"depot":"D1","seq":-1}`} {
		d.raw(t, p)
	}
	d.send(t, 2, 3)
	waitFor(t, 10*time.Second, "ack of 3", func() bool { return d.watermark() == 3 })
	if st := core.Stats("D1"); st.Malformed != 7 {
		t.Fatalf("malformed %d, want 7: %+v", st.Malformed, st)
	}
}

// The core keeps nothing on disk: a restarted one learns the watermark from the ERP, asks
// the depot to resend from there at once, and re-acknowledges what the ERP had applied.
func TestARestartedCoreAsksForAResendAndNeverReappliesWhatTheERPHas(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	d := newFakeDepot(t, b.URL(), "D1")
	_, stop := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, seqs(1, 20)...)
	waitFor(t, 10*time.Second, "ack of 20", func() bool { return d.watermark() == 20 })
	stop()
	n := len(d.resendsFrom())
	core2, _ := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "resend asked on start", func() bool { return len(d.resendsFrom()) > n })
	if r := d.resendsFrom(); r[len(r)-1] != 21 {
		t.Fatalf("restarted core asked a resend from %v, want 21", r[len(r)-1])
	}
	// The depot had missed the acks: it replays everything.
	d.send(t, seqs(1, 25)...)
	waitFor(t, 10*time.Second, "ack of 25", func() bool { return d.watermark() == 25 })
	calls, moves := l.snapshot("D1")
	if !equal(moves, seqs(1, 25)) || !equal(calls, seqs(1, 25)) {
		t.Fatalf("after a restart: calls %v, moves %v", calls, moves)
	}
	if st := core2.Stats("D1"); st.Duplicates != 20 {
		t.Fatalf("restarted core: %+v, want 20 duplicates", st)
	}
}

// Without a list of depots the core serves any depot that publishes (the simulator).
func TestWithoutADepotListEveryPublishingDepotIsServed(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	core, _ := startCore(t, b.URL(), l, nil)
	d := newFakeDepot(t, b.URL(), "X7")
	waitFor(t, 10*time.Second, "X7 served", func() bool {
		if d.watermark() == 3 {
			return true
		}
		d.send(t, 1, 2, 3)
		time.Sleep(50 * time.Millisecond)
		return false
	})
	if st := core.Stats("X7"); st.Processed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// The ERP lost seqs the core had seen applied (a database restored from a backup): at the
// next seq the Applier says Gap, and the core believes the ERP, steps back and asks the
// depot to resend from the ERP's applied seq + 1.
func TestWhenTheERPIsBehindTheCoreStepsBackAndAsksForAResend(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	d := newFakeDepot(t, b.URL(), "D1")
	startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"} })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, seqs(1, 10)...)
	waitFor(t, 10*time.Second, "ack of 10", func() bool { return d.watermark() == 10 })
	l.mu.Lock()
	l.applied["D1"] = 6 // restored: 7..10 are gone
	l.mu.Unlock()
	d.send(t, 11)
	waitFor(t, 10*time.Second, "resend from 7", func() bool {
		r := d.resendsFrom()
		return r[len(r)-1] == 7
	})
	d.send(t, seqs(7, 12)...)
	waitFor(t, 10*time.Second, "ack of 12", func() bool { return d.watermark() == 12 })
	if _, moves := l.snapshot("D1"); !equal(moves, append(seqs(1, 10), seqs(7, 12)...)) {
		t.Fatalf("moves %v: want 1..10, then 7..12 again into the restored ERP", moves)
	}
}

// Stopping the core while the Applier is in a call lets that call finish (within
// DrainTimeout) and acknowledges it; no further seq is started.
func TestAnApplyInFlightAtShutdownFinishesAndIsAcked(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	release := make(chan struct{})
	l.hold = func(tx erpcore.Tx) chan struct{} {
		if tx.Seq == 2 {
			return release
		}
		return nil
	}
	d := newFakeDepot(t, b.URL(), "D1")
	_, stop := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"}; c.DrainTimeout = 20 * time.Second })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2, 3)
	waitFor(t, 10*time.Second, "seq 2 in the applier", func() bool { c, _ := l.snapshot("D1"); return len(c) == 2 })
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Run returned while an Apply was in flight")
	case <-time.After(100 * time.Millisecond): // the stop must be waiting on the call, not done
	}
	close(release)
	<-stopped
	waitFor(t, 10*time.Second, "ack of the drained seq 2", func() bool { return d.watermark() == 2 })
	if calls, moves := l.snapshot("D1"); !equal(calls, []uint64{1, 2}) || !equal(moves, []uint64{1, 2}) {
		t.Fatalf("calls %v moves %v: want 1 and 2 only (no new seq after the stop)", calls, moves)
	}
}

// An Apply still running DrainTimeout after the stop is cancelled and not acknowledged.
func TestAnApplyOutlivingTheDrainTimeoutIsCancelledAndNotAcked(t *testing.T) {
	b := brokertest.StartMochi(t)
	l := newLedger()
	never := make(chan struct{})
	l.hold = func(tx erpcore.Tx) chan struct{} {
		if tx.Seq == 2 {
			return never
		}
		return nil
	}
	d := newFakeDepot(t, b.URL(), "D1")
	_, stop := startCore(t, b.URL(), l, func(c *erpcore.Config) { c.Depots = []string{"D1"}; c.DrainTimeout = 200 * time.Millisecond })
	waitFor(t, 10*time.Second, "core subscribed", func() bool { return len(d.resendsFrom()) > 0 })
	d.send(t, 1, 2)
	waitFor(t, 10*time.Second, "ack of 1 and seq 2 in the applier", func() bool { c, _ := l.snapshot("D1"); return len(c) == 2 && d.watermark() == 1 })
	start := time.Now()
	stop()
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("stop took %v with a 200ms drain timeout", took)
	}
	if w := d.watermark(); w != 1 {
		t.Fatalf("watermark %d: a cancelled Apply was acknowledged", w)
	}
}
