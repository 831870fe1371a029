package station_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/drivers"
	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
	"github.com/shopspring/decimal"
)

// rig is depotd's scanning path for real: a simulated serial scanner and an MT-SICS scale
// on pseudo-terminals, the production drivers under the device supervisor, the station
// manager and the journal.
type rig struct {
	d       *depot
	scanner *sim.Scanner
	scale   *sim.Scale
	sup     *devices.Supervisor
	events  <-chan station.Event
	tee     *teeSink
}

// teeSink passes everything to the stations and remembers the last weight, so a test can
// wait for the scale's reading to arrive instead of sleeping.
type teeSink struct {
	next devices.Sink
	mu   sync.Mutex
	last devices.Weight
}

func (t *teeSink) Scan(s devices.Scan)       { t.next.Scan(s) }
func (t *teeSink) BadScan(b devices.BadScan) { t.next.BadScan(b) }
func (t *teeSink) State(s devices.DeviceState) {
	t.next.State(s)
}
func (t *teeSink) Weight(w devices.Weight) {
	t.next.Weight(w)
	t.mu.Lock()
	t.last = w
	t.mu.Unlock()
}

func (t *teeSink) lastWeight() devices.Weight {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

type beepFunc func(good bool) error

func (f beepFunc) Beep(good bool) error { return f(good) }

// Beep commands the e2e scanner is configured with (ACK and NAK here; a real scanner takes
// its vendor's host command).
const goodBeep, badBeep = "\x06", "\x15"

func mustRig(tb testing.TB) *rig {
	tb.Helper()
	f := mustFixture(tb)
	// The rig's dock reads the simulated devices; the golden fixture's other stations stay.
	f.Stations[0].Scanner, f.Stations[0].Scale = "scanner1", "scale1"
	dir := tb.TempDir()
	sc, err := sim.NewScanner(filepath.Join(dir, "usb-scanner1-if00"), sim.ScannerFraming{Suffix: "\r"})
	if err != nil {
		tb.Fatal(err)
	}
	port, err := sim.OpenPort(filepath.Join(dir, "usb-scale1-if00"))
	if err != nil {
		tb.Fatal(err)
	}
	scale, err := sim.NewScale(port, sim.ScaleMTSICS, sim.ScaleOptions{Unit: "kg", Decimals: 4, Interval: 20 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	r := &rig{scanner: sc, scale: scale}
	r.d = mustDepotNow(tb, f, time.Now)
	var sup *devices.Supervisor
	r.d.beeper = func(name string) devices.Beeper {
		return beepFunc(func(good bool) error { return sup.Beep(name, good) })
	}
	r.d.restart() // with the beeper

	log := slog.New(slog.DiscardHandler)
	var units []devices.Unit
	for _, cfg := range []devices.Config{
		{Name: "scanner1", Kind: devices.KindScanner, Port: sc.Link(), Suffix: "cr", GoodBeep: `\x06`, BadBeep: `\x15`},
		{Name: "scale1", Kind: devices.KindScale, Port: port.Link(), Protocol: "mt-sics", PollInterval: 20 * time.Millisecond},
	} {
		drv, err := drivers.New(cfg, log)
		if err != nil {
			tb.Fatal(err)
		}
		units = append(units, devices.Unit{Config: cfg, Driver: drv})
	}
	r.tee = &teeSink{next: r.d.M}
	sup = devices.NewSupervisor(units, r.tee, log)
	r.sup = sup
	events, unsub := r.d.M.Subscribe(64)
	r.events = events

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for _, run := range []func(context.Context) error{scale.Run, sup.Run, r.d.M.Run} {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- run(ctx) }()
	}
	// Shutdown order as in depotd: devices stop, stations finish, the journal closes last
	// (the depot's own cleanup, registered before this one, runs after it).
	tb.Cleanup(func() {
		cancel()
		sc.Close()
		port.Close()
		wg.Wait()
		unsub()
		close(errs)
		for err := range errs {
			if err != nil && !errors.Is(err, sim.ErrClosed) {
				tb.Error(err)
			}
		}
	})
	waitUntil(tb, "both devices connected", func() bool {
		for _, n := range []string{"scanner1", "scale1"} {
			if st, ok := sup.Registry().Get(n); !ok || st.State != devices.StateConnected {
				return false
			}
		}
		return r.d.M.Running()
	})
	return r
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// scan sends one barcode through the pty and returns the station's feedback event.
func (r *rig) scan(tb testing.TB, data string) station.Event {
	tb.Helper()
	if err := r.scanner.Scan("", data); err != nil {
		tb.Fatal(err)
	}
	return r.next(tb)
}

func (r *rig) next(tb testing.TB) station.Event {
	tb.Helper()
	for {
		select {
		case ev := <-r.events:
			if ev.Station == "dock" {
				return ev
			}
		case <-time.After(30 * time.Second):
			tb.Fatal("no station event")
		}
	}
}

// beep reads the bytes depotd sent back to the scanner.
func (r *rig) beep(tb testing.TB) string {
	tb.Helper()
	if err := r.scanner.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		tb.Fatal(err)
	}
	b := make([]byte, 1)
	n, err := r.scanner.Read(b)
	if err != nil {
		tb.Fatalf("read beep: %v", err)
	}
	return string(b[:n])
}

func (r *rig) setLoad(tb testing.TB, kg string) {
	tb.Helper()
	v := decimal.RequireFromString(kg)
	r.scale.SetLoad(v)
	waitUntil(tb, "scale reading "+kg, func() bool {
		w := r.tee.lastWeight()
		return w.Usable() && w.Kg.Equal(v)
	})
}

// TestEndToEnd: bytes on a scanner pty and an MT-SICS scale pty, through the production
// drivers and supervisor, become a committed transaction with its weight evidence; good and
// bad beeps go back to the scanner; a bad frame is kept as an unresolved scan.
func TestEndToEnd(t *testing.T) {
	r := mustRig(t)
	if ev := r.scan(t, "OP:alice"); ev.Result != station.Accepted {
		t.Fatalf("login: %+v", ev)
	}
	if b := r.beep(t); b != goodBeep {
		t.Fatalf("beep after login %q, want good %q", b, goodBeep)
	}
	r.setLoad(t, "2.0954")
	ev := r.scan(t, "SKU-SCREW-M4")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "+499 Units SCREW-M4 weighed 2.0954 kg") {
		t.Fatalf("weighed scan: %+v", ev)
	}
	r.beep(t)
	if ev := r.scan(t, "SKU-SCREW-M4"); ev.Result != station.Refused || !strings.Contains(ev.Message, "already counted") {
		t.Fatalf("same weight again: %+v", ev)
	}
	if b := r.beep(t); b != badBeep {
		t.Fatalf("beep after refusal %q, want bad %q", b, badBeep)
	}
	if ev := r.scan(t, "]E04006381333931"); ev.Result != station.Accepted {
		t.Fatalf("EAN with AIM: %+v", ev)
	}
	r.beep(t)
	ev = r.scan(t, "CMD:VALIDATE")
	if ev.Result != station.Accepted || ev.Seq == 0 {
		t.Fatalf("validate: %+v", ev)
	}
	r.beep(t)
	tx, err := r.d.J.Get(ev.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if tx.Type != edge.Receipt || tx.Station != "dock" || tx.Operator != "alice" || len(tx.Lines) != 2 ||
		tx.Lines[0].Item != "SCREW-M4" || tx.Lines[0].Qty.String() != "499" || tx.Lines[0].WeightKg != "2.0954" {
		t.Fatalf("transaction: %+v", tx)
	}
	if len(tx.Scans) != 3 || tx.Scans[0].Device != "scanner1" || tx.Scans[1].AIM != "]E0" || tx.Scans[1].Raw != "]E04006381333931" {
		t.Fatalf("scan evidence: %+v", tx.Scans)
	}
	// A frame with a control byte: the driver refuses it, the station keeps it.
	if err := r.scanner.Noise([]byte("40\x01638\r")); err != nil {
		t.Fatal(err)
	}
	ev = r.next(t)
	if ev.Result != station.Refused || ev.Exception == 0 {
		t.Fatalf("bad frame: %+v", ev)
	}
	exc, err := r.d.J.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(exc, func(e edge.Exception) bool { return e.ID == ev.Exception }); i < 0 ||
		exc[i].Kind != edge.ExcUnresolvedScan || !strings.Contains(string(exc[i].Raw), "40\x01638") || exc[i].Station != "dock" {
		t.Fatalf("unresolved scan record: %+v", exc)
	}
}

// TestAReceiptAgainstAKnownDocumentOnRealPtysShowsWeighedAgainstExpected: bytes on the
// scanner pty name an ERP receipt; screws weighed on the MT-SICS scale pty count against
// what it expects, and an item it does not name is flagged, in the scan's message and the
// station's status.
func TestAReceiptAgainstAKnownDocumentOnRealPtysShowsWeighedAgainstExpected(t *testing.T) {
	r := mustRig(t)
	if _, err := r.d.J.PutMaster(edge.MasterKindDocuments, []byte(`{"v":1,"version":"1","documents":[
	 {"ref":"WH/IN/00031","kind":"receipt","partner":"Acme","lines":[{"item":"SCREW-M4","qty":"500","uom":"Units"}]}]}`)); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"OP:alice", "REF:WH/IN/00031"} {
		if ev := r.scan(t, s); ev.Result != station.Accepted {
			t.Fatalf("%s: %+v", s, ev)
		}
		r.beep(t)
	}
	r.setLoad(t, "2.0954")
	ev := r.scan(t, "SKU-SCREW-M4")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "499/500 of WH/IN/00031") {
		t.Fatalf("weighed scan against the receipt: %+v", ev)
	}
	r.beep(t)
	ev = r.scan(t, "]E04006381333931")
	if ev.Result != station.Accepted || !strings.Contains(ev.Message, "WATER is not on WH/IN/00031") {
		t.Fatalf("an item not on the receipt: %+v", ev)
	}
	r.beep(t)
	var got []string
	for _, l := range ev.Status.Document.Expected.Lines {
		got = append(got, progress(l))
	}
	if want := []string{"499/500 short", "1/- unexpected"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("station status %q, want %q", got, want)
	}
}
