package station_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
)

func scan(device, data string) devices.Scan {
	return devices.Scan{Device: device, Raw: []byte(data), Data: []byte(data)}
}

func mustApply(t *testing.T, m *station.Manager, device, data string) station.Event {
	t.Helper()
	ev, err := m.Apply(context.Background(), scan(device, data))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// The ERP's master data (stored by the uplink) wins over the config's for the same SKU,
// and a new snapshot is used from the next scan on, without a restart.
func TestMasterFromJournalWinsAndRefreshes(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	mustApply(t, d.M, "sc-dock", "OP:alice")
	if ev := mustApply(t, d.M, "sc-dock", "7501031311309"); ev.Result != station.Refused {
		t.Fatalf("unknown GTIN: %+v", ev)
	}
	items := edge.MasterItems{V: 1, Version: "v1", Items: []edge.Item{
		{SKU: "WATER", Name: "Water (ERP)", Barcodes: []string{"7501031311309"}},
	}}
	raw, _ := json.Marshal(items)
	if _, err := d.J.PutMaster(edge.MasterKindItems, raw); err != nil {
		t.Fatal(err)
	}
	ev := mustApply(t, d.M, "sc-dock", "7501031311309")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "WATER") {
		t.Fatalf("ERP barcode after PutMaster: %+v", ev)
	}
	// The ERP's WATER replaced the config's, barcodes and packagings included.
	if ev := mustApply(t, d.M, "sc-dock", "4006381333931"); ev.Result != station.Refused {
		t.Fatalf("config barcode of an item the ERP redefined: %+v", ev)
	}
	// Items only the config knows stay.
	if ev := mustApply(t, d.M, "sc-dock", "4012345000016"); ev.Result != station.Accepted {
		t.Fatalf("config-only item: %+v", ev)
	}
	ops := edge.MasterOperators{V: 1, Version: "o1", Operators: []edge.Operator{{Badge: "erin", Name: "Erin", Role: "supervisor"}}}
	raw, _ = json.Marshal(ops)
	if _, err := d.J.PutMaster(edge.MasterKindOperators, raw); err != nil {
		t.Fatal(err)
	}
	if ev := mustApply(t, d.M, "sc-dock", "OP:erin"); ev.Result != station.Accepted || !strings.Contains(ev.Message, "Erin") {
		t.Fatalf("ERP operator: %+v", ev)
	}
}

// A subscriber that never reads loses events; scanning goes on and a live subscriber
// sees every event in order.
func TestSubscribeSlowSubscriberNeverBlocks(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	slow, cancelSlow := d.M.Subscribe(1)
	defer cancelSlow()
	live, cancelLive := d.M.Subscribe(64)
	mustApply(t, d.M, "sc-dock", "OP:alice")
	for i := 0; i < 20; i++ {
		mustApply(t, d.M, "sc-dock", "4006381333931")
	}
	if n := len(slow); n != 1 {
		t.Fatalf("slow subscriber holds %d events, want 1", n)
	}
	for i := 0; i < 21; i++ {
		ev := <-live
		want := "4006381333931"
		if i == 0 {
			want = "OP:alice"
		}
		if ev.Scan != want || ev.Station != "dock" {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if i > 0 && !strings.Contains(ev.Message, fmt.Sprintf("line 1: %d Units", i)) {
			t.Fatalf("event %d out of order: %q", i, ev.Message)
		}
	}
	cancelLive()
	cancelLive() // idempotent
	mustApply(t, d.M, "sc-dock", "4006381333931")
	select {
	case ev, ok := <-live:
		if ok {
			t.Fatalf("event after unsubscribe: %+v", ev)
		}
	default:
	}
}

// While Run runs, the Sink queues scans per station and processes them in arrival order;
// Run stops its goroutines when the context ends.
func TestRunProcessesSinkScansInOrder(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	events, cancel := d.M.Subscribe(256)
	defer cancel()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.M.Run(ctx) }()
	waitFor(t, "manager running", d.M.Running)
	d.M.Scan(scan("sc-dock", "OP:alice"))
	for i := 0; i < 50; i++ {
		d.M.Scan(scan("sc-dock", "4006381333931"))
	}
	d.M.Scan(scan("sc-dock", "CMD:VALIDATE"))
	d.M.Scan(scan("not-a-station", "4006381333931"))
	var last station.Event
	deadline := time.After(30 * time.Second)
	for n := 0; n < 52; {
		select {
		case ev := <-events:
			if ev.Station != "dock" {
				continue
			}
			n++
			last = ev
		case <-deadline:
			t.Fatal("timed out waiting for 52 events")
		}
	}
	if last.Seq == 0 || !strings.Contains(last.Message, "50 in all") {
		t.Fatalf("last event: %+v", last)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// After Run, the Sink processes at once.
	d.M.Scan(scan("sc-dock", "4006381333931"))
	st, _ := d.M.Station("dock")
	if st.Document == nil || len(st.Document.Lines) != 1 {
		t.Fatalf("scan after Run: %+v", st)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run logs idle operators out on its own, so the console shows it without a scan.
func TestRunIdleLogout(t *testing.T) {
	f := mustFixture(t)
	f.Settings.IdleLogout = 10 * time.Second
	c := newClock()
	d := mustDepot(t, f, c)
	mustApply(t, d.M, "sc-dock", "OP:alice")
	events, cancel := d.M.Subscribe(8)
	defer cancel()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.M.Run(ctx) }()
	c.Advance(11 * time.Second)
	select {
	case ev := <-events:
		if ev.Message != "logged out after inactivity" || ev.Status.Operator != "" {
			t.Fatalf("event: %+v", ev)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no idle logout event")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestApplyUnknownScanner(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	if _, err := d.M.Apply(context.Background(), scan("nope", "x")); !errors.Is(err, station.ErrUnknownStation) {
		t.Fatalf("err = %v", err)
	}
	if _, err := d.M.Station("nope"); !errors.Is(err, station.ErrUnknownStation) {
		t.Fatalf("err = %v", err)
	}
}

// The snapshot is the JSON GET /api/v1/stations serves.
func TestSnapshotJSON(t *testing.T) {
	d := mustDepot(t, mustFixture(t), newClock())
	mustApply(t, d.M, "sc-dock", "OP:alice")
	mustApply(t, d.M, "sc-dock", "4006381333931")
	raw, err := json.Marshal(d.M.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stations []struct {
			Name     string          `json:"name"`
			Mode     string          `json:"mode"`
			Operator string          `json:"operator"`
			Document json.RawMessage `json:"document"`
			Last     struct {
				Scan, Result, Message string
			} `json:"last"`
		} `json:"stations"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Stations) != 4 {
		t.Fatalf("%d stations", len(got.Stations))
	}
	s := got.Stations[0]
	if s.Name != "dock" || s.Mode != "receive" || s.Operator != "alice" || s.Last.Scan != "4006381333931" ||
		s.Last.Result != "accepted" || !strings.Contains(string(s.Document), `"item":"WATER"`) {
		t.Fatalf("snapshot: %s", raw)
	}
	if p := got.Stations[1]; string(p.Document) != "null" || p.Operator != "" {
		t.Fatalf("idle station: %s", raw)
	}
}
