package devices_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/serialscan"
	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/devices/sim/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Sink that keeps everything; tests wait on it with deadlines.
type recorder struct {
	mu     sync.Mutex
	scans  []devices.Scan
	bad    []devices.BadScan
	states []devices.DeviceState
}

func (r *recorder) Scan(s devices.Scan) { r.mu.Lock(); r.scans = append(r.scans, s); r.mu.Unlock() }
func (r *recorder) BadScan(b devices.BadScan) {
	r.mu.Lock()
	r.bad = append(r.bad, b)
	r.mu.Unlock()
}
func (r *recorder) Weight(devices.Weight) {}
func (r *recorder) State(s devices.DeviceState) {
	r.mu.Lock()
	r.states = append(r.states, s)
	r.mu.Unlock()
}

func (r *recorder) scanned(device, data string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.scans {
		if s.Device == device && string(s.Data) == data {
			return true
		}
	}
	return false
}

func (r *recorder) statesOf(device string) []devices.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []devices.State
	for _, s := range r.states {
		if s.Device == device {
			out = append(out, s.State)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes; generous for a loaded machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(reg *devices.Registry, name string) devices.State {
	st, _ := reg.Get(name)
	return st.State
}

func scannerUnit(t *testing.T, name, port string) devices.Unit {
	t.Helper()
	cfg := devices.Config{Name: name, Kind: devices.KindScanner, Port: port}
	d, err := serialscan.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return devices.Unit{Config: cfg, Driver: d}
}

// startSupervisor runs s until the test ends and checks Run returns.
func startSupervisor(t *testing.T, s *devices.Supervisor) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// TestHotPlug unplugs one of two scanners (pty closed, by-id link removed), checks the
// other keeps working, and replugs it on a new pty behind the same link.
func TestHotPlug(t *testing.T) {
	dir := t.TempDir()
	a, err := sim.NewScanner(filepath.Join(dir, "usb-Honeywell_3320g-if00-port0"), sim.ScannerFraming{Suffix: "\r"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sim.NewScanner(filepath.Join(dir, "usb-Datalogic_QD2430-if00"), sim.ScannerFraming{Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	rec := &recorder{}
	sup := devices.NewSupervisor([]devices.Unit{scannerUnit(t, "dock-a", a.Link()), scannerUnit(t, "dock-b", b.Link())},
		rec, slog.New(slog.DiscardHandler))
	sup.Backoff = devices.Backoff{Min: 20 * time.Millisecond, Max: 200 * time.Millisecond, Healthy: time.Minute}
	reg := sup.Registry()
	startSupervisor(t, sup)

	waitFor(t, "both connected", func() bool {
		return state(reg, "dock-a") == devices.StateConnected && state(reg, "dock-b") == devices.StateConnected
	})
	must(t, a.Scan("]E0", "4006381333931"))
	must(t, b.Scan("]C1", "0109501101530003\x1d10LOT7"))
	waitFor(t, "scans from both", func() bool {
		return rec.scanned("dock-a", "4006381333931") && rec.scanned("dock-b", "0109501101530003\x1d10LOT7")
	})

	firstDev := a.Device()
	must(t, a.Unplug())
	waitFor(t, "dock-a disconnected", func() bool { return state(reg, "dock-a") == devices.StateDisconnected })
	st, _ := reg.Get("dock-a")
	if !strings.Contains(st.Reason, a.Link()) {
		t.Errorf("disconnect reason %q does not name the port", st.Reason)
	}

	// The other scanner is unaffected while a stays unplugged through several retries.
	waitFor(t, "retries while unplugged", func() bool { st, _ := reg.Get("dock-a"); return st.Failures >= 3 })
	must(t, b.Scan("]E4", "96385074"))
	waitFor(t, "dock-b scan while dock-a is out", func() bool { return rec.scanned("dock-b", "96385074") })
	if got := state(reg, "dock-b"); got != devices.StateConnected {
		t.Fatalf("dock-b %s", got)
	}

	// A device whose node the link pointed at must be re-opened by name: hold the old pts
	// number busy so the replug gets a new one.
	hold, err := sim.OpenPort(filepath.Join(dir, "hold"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	must(t, a.Replug())
	if a.Device() == firstDev {
		t.Logf("replug reused %s", firstDev)
	}
	waitFor(t, "dock-a reconnected", func() bool { return state(reg, "dock-a") == devices.StateConnected })
	must(t, a.Scan("]E0", "9501101530003"))
	waitFor(t, "dock-a scan after replug", func() bool { return rec.scanned("dock-a", "9501101530003") })

	want := []devices.State{devices.StateConnected, devices.StateDisconnected, devices.StateConnected}
	if got := rec.statesOf("dock-a"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("dock-a states %v, want %v (each change once)", got, want)
	}
	if got := rec.statesOf("dock-b"); fmt.Sprint(got) != fmt.Sprint([]devices.State{devices.StateConnected}) {
		t.Errorf("dock-b states %v", got)
	}
	snap := reg.Snapshot()
	if len(snap) != 2 || snap[0].Name != "dock-a" || snap[0].LastScan == nil || string(snap[0].LastScan.Data) != "9501101530003" {
		t.Fatalf("snapshot %+v", snap)
	}
}

// TestUnplugWhileLinkStays closes the pty but leaves the installer's link in place
// (dangling, as it is for a moment before udev removes it).
func TestUnplugWhileLinkStays(t *testing.T) {
	dir := t.TempDir()
	p, err := sim.OpenPort(filepath.Join(dir, "real"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	link := filepath.Join(dir, "by-id-link")
	must(t, os.Symlink(p.Device(), link))

	rec := &recorder{}
	sup := devices.NewSupervisor([]devices.Unit{scannerUnit(t, "s", link)}, rec, slog.New(slog.DiscardHandler))
	sup.Backoff = devices.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond, Healthy: time.Minute}
	startSupervisor(t, sup)
	waitFor(t, "connected", func() bool { return state(sup.Registry(), "s") == devices.StateConnected })

	must(t, p.Unplug())
	waitFor(t, "disconnected", func() bool { return state(sup.Registry(), "s") == devices.StateDisconnected })
}

func TestWrongDeviceTypeIsErrorWithReason(t *testing.T) {
	notATTY := filepath.Join(t.TempDir(), "not-a-tty")
	must(t, os.WriteFile(notATTY, nil, 0o600))
	rec := &recorder{}
	sup := devices.NewSupervisor([]devices.Unit{scannerUnit(t, "s", notATTY)}, rec, slog.New(slog.DiscardHandler))
	sup.Backoff = devices.Backoff{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}
	startSupervisor(t, sup)
	waitFor(t, "error state", func() bool { return state(sup.Registry(), "s") == devices.StateError })
	st, _ := sup.Registry().Get("s")
	if !strings.Contains(st.Reason, notATTY) {
		t.Fatalf("reason %q", st.Reason)
	}
}

// logCounter is a slog handler counting records at Warn and above.
type logCounter struct {
	mu   sync.Mutex
	n    int
	msgs bytes.Buffer
}

func (l *logCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		l.n++
		fmt.Fprintln(&l.msgs, r.Message)
		l.mu.Unlock()
	}
	return nil
}
func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

func TestRepeatedFailuresLoggedOnce(t *testing.T) {
	logs := &logCounter{}
	rec := &recorder{}
	missing := filepath.Join(t.TempDir(), "usb-unplugged-scanner")
	sup := devices.NewSupervisor([]devices.Unit{scannerUnit(t, "s", missing)}, rec, slog.New(logs))
	sup.Backoff = devices.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}
	startSupervisor(t, sup)
	waitFor(t, "20 retries", func() bool { st, _ := sup.Registry().Get("s"); return st.Failures >= 20 })
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if logs.n != 1 {
		t.Fatalf("%d warnings for one repeated failure:\n%s", logs.n, logs.msgs.String())
	}
	if got := rec.statesOf("s"); len(got) != 1 || got[0] != devices.StateDisconnected {
		t.Fatalf("states %v, want one disconnected", got)
	}
}

// panicky is a driver with a bug: the supervisor must survive it and keep retrying.
type panicky struct{ runs chan struct{} }

func (p panicky) Run(context.Context, devices.Sink) error {
	p.runs <- struct{}{}
	panic("index out of range")
}

func TestDriverPanicBecomesError(t *testing.T) {
	runs := make(chan struct{}, 100)
	rec := &recorder{}
	sup := devices.NewSupervisor([]devices.Unit{{Config: devices.Config{Name: "p", Kind: devices.KindScale}, Driver: panicky{runs}}},
		rec, slog.New(slog.DiscardHandler))
	sup.Backoff = devices.Backoff{Min: time.Millisecond, Max: time.Millisecond}
	startSupervisor(t, sup)
	for range 3 {
		select {
		case <-runs:
		case <-time.After(10 * time.Second):
			t.Fatal("driver not retried after panic")
		}
	}
	st, _ := sup.Registry().Get("p")
	if st.State != devices.StateError || !strings.Contains(st.Reason, "panic") {
		t.Fatalf("status %+v", st)
	}
}

func TestBackoffDelay(t *testing.T) {
	b := devices.DefaultBackoff
	for _, c := range []struct {
		attempt  int
		rnd      float64
		min, max time.Duration
	}{
		{0, 0, 375 * time.Millisecond, 375 * time.Millisecond},
		{0, 0.5, 500 * time.Millisecond, 500 * time.Millisecond},
		{1, 0.5, time.Second, time.Second},
		{5, 0.5, 16 * time.Second, 16 * time.Second},
		{6, 0.5, 30 * time.Second, 30 * time.Second},
		{60, 0.999, 30 * time.Second, 37500 * time.Millisecond},
	} {
		if d := b.Delay(c.attempt, c.rnd); d < c.min || d > c.max {
			t.Errorf("Delay(%d, %v) = %v, want [%v, %v]", c.attempt, c.rnd, d, c.min, c.max)
		}
	}
}

func TestBeep(t *testing.T) {
	p, err := sim.NewScanner(filepath.Join(t.TempDir(), "beeper"), sim.ScannerFraming{Suffix: "\r"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cfg := devices.Config{Name: "s", Kind: devices.KindScanner, Port: p.Link(), GoodBeep: `\x07`, BadBeep: `\x1b[5q`}
	d, err := serialscan.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	sup := devices.NewSupervisor([]devices.Unit{{Config: cfg, Driver: d}}, rec, slog.New(slog.DiscardHandler))
	if err := sup.Beep("s", true); !errors.Is(err, serialscan.ErrNotConnected) {
		t.Fatalf("beep before connect: %v", err)
	}
	if err := sup.Beep("nope", true); !errors.Is(err, devices.ErrUnknownDevice) {
		t.Fatalf("beep unknown: %v", err)
	}
	startSupervisor(t, sup)
	waitFor(t, "connected", func() bool { return state(sup.Registry(), "s") == devices.StateConnected })
	must(t, sup.Beep("s", true))
	must(t, sup.Beep("s", false))
	must(t, p.SetReadDeadline(time.Now().Add(10*time.Second)))
	var got []byte
	buf := make([]byte, 16)
	for len(got) < 5 {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "\x07\x1b[5q" {
		t.Fatalf("scanner received %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatusJSON(t *testing.T) {
	at := time.Date(2026, 11, 26, 17, 0, 0, 0, time.UTC)
	st := devices.Status{Name: "dock", Kind: devices.KindScanner, Port: "/dev/serial/by-id/x", State: devices.StateConnected, Since: at,
		LastScan: &devices.Scan{At: at, AIM: "]C1", Data: []byte("01\x1d10A"), Raw: []byte("]C101\x1d10A")},
		LastRaw:  []byte("]C101\x1d10A"), LastAt: at}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"dock","kind":"scanner","port":"/dev/serial/by-id/x","state":"connected","since":"2026-11-26T17:00:00Z","failures":0,"frame_errors":0,` +
		`"last_scan":{"at":"2026-11-26T17:00:00Z","aim":"]C1","data":"01\u001d10A","raw_hex":"5d433130311d313041"},` +
		`"last_raw_hex":"5d433130311d313041","last_at":"2026-11-26T17:00:00Z"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
}

// flaky fails at once, except on run number healthyRun, where it stays connected for
// hold; it records the backoff the supervisor chose before each run.
type flaky struct {
	reg        func() *devices.Registry
	healthyRun int
	hold       time.Duration

	mu      sync.Mutex
	runs    int
	retryIn []time.Duration
}

func (f *flaky) Run(ctx context.Context, sink devices.Sink) error {
	st, _ := f.reg().Get("f")
	f.mu.Lock()
	f.runs++
	n := f.runs
	f.retryIn = append(f.retryIn, st.RetryIn)
	f.mu.Unlock()
	if n == f.healthyRun {
		sink.State(devices.DeviceState{Device: "f", State: devices.StateConnected})
		t := time.NewTimer(f.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
	}
	return fmt.Errorf("read: %w", devices.ErrGone)
}

func TestBackoffGrowsAndResetsAfterHealthyRun(t *testing.T) {
	var sup *devices.Supervisor
	f := &flaky{reg: func() *devices.Registry { return sup.Registry() }, healthyRun: 6, hold: 300 * time.Millisecond}
	sup = devices.NewSupervisor([]devices.Unit{{Config: devices.Config{Name: "f", Kind: devices.KindScanner}, Driver: f}},
		&recorder{}, slog.New(slog.DiscardHandler))
	sup.Backoff = devices.Backoff{Min: time.Millisecond, Max: time.Second, Healthy: 250 * time.Millisecond}
	startSupervisor(t, sup)
	waitFor(t, "8 runs", func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.runs >= 8 })
	f.mu.Lock()
	defer f.mu.Unlock()
	// Before run k (k ≥ 2) the wait was Min·2^(k-2) ±25%; the run after the healthy one
	// starts again from Min.
	for k, base := range map[int]time.Duration{2: time.Millisecond, 3: 2 * time.Millisecond, 6: 16 * time.Millisecond, 7: time.Millisecond, 8: 2 * time.Millisecond} {
		got := f.retryIn[k-1]
		if got < base*3/4 || got > base*5/4 {
			t.Errorf("wait before run %d = %v, want %v ±25%%", k, got, base)
		}
	}
}

// TestScaleFrameErrorsCountedInRegistry: a scale's refused frames (line noise, a corrupted
// continuous frame) reach the Registry as frame_errors with the last reason, which is what
// GET /api/v1/devices, the console and /metrics show.
func TestScaleFrameErrorsCountedInRegistry(t *testing.T) {
	sc := simtest.StartScale(t, sim.ScaleToledoContinuous, sim.ScaleOptions{Unit: "kg"})
	sc.SetLoad(decimal.RequireFromString("1.234"))
	sc.SetNoise(true)
	cfg := devices.Config{Name: "floor", Kind: devices.KindScale, Port: sc.Port().Link(), Protocol: scale.ToledoContinuous}
	drv, err := scale.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sup := devices.NewSupervisor([]devices.Unit{{Config: cfg, Driver: drv}}, &recorder{}, slog.New(slog.DiscardHandler))
	startSupervisor(t, sup)
	waitFor(t, "frame errors counted", func() bool {
		st, _ := sup.Registry().Get("floor")
		return st.FrameErrors >= 2 && st.LastFrameError != nil && st.LastWeight != nil
	})
	st, _ := sup.Registry().Get("floor")
	if st.LastFrameError.Reason == "" || len(st.LastFrameError.Raw) == 0 {
		t.Errorf("last frame error without reason or bytes: %+v", st.LastFrameError)
	}
	b, _ := json.Marshal(st)
	if !strings.Contains(string(b), `"frame_errors":`) || !strings.Contains(string(b), `"last_frame_error":{`) {
		t.Errorf("status JSON lacks the frame errors: %s", b)
	}
}
