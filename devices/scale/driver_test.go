package scale_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/devices/sim/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recSink records what a driver delivers; wait blocks until a weight matches or the
// deadline passes.
type recSink struct {
	runErr  error // what Run returned, once it has
	ran     bool  // Run has returned
	mu      sync.Mutex
	weights []devices.Weight
	states  []devices.DeviceState
	errs    []devices.FrameError
	notify  chan struct{}
}

func (s *recSink) FrameError(e devices.FrameError) {
	s.mu.Lock()
	s.errs = append(s.errs, e)
	s.mu.Unlock()
}

func (s *recSink) errCount() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.errs) }

func newSink() *recSink { return &recSink{notify: make(chan struct{}, 1)} }

func (s *recSink) Scan(devices.Scan)       {}
func (s *recSink) BadScan(devices.BadScan) {}
func (s *recSink) Weight(w devices.Weight) {
	s.mu.Lock()
	s.weights = append(s.weights, w)
	s.mu.Unlock()
	s.poke()
}
func (s *recSink) State(st devices.DeviceState) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
	s.poke()
}
func (s *recSink) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *recSink) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.weights) }

func (s *recSink) since(i int) []devices.Weight {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]devices.Weight(nil), s.weights[i:]...)
}

// wait returns the first weight delivered at index ≥ from that satisfies pred.
func (s *recSink) wait(t *testing.T, from int, what string, pred func(devices.Weight) bool) devices.Weight {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		for _, w := range s.since(from) {
			if pred(w) {
				return w
			}
		}
		s.mu.Lock()
		ran, runErr := s.ran, s.runErr
		s.mu.Unlock()
		if ran {
			// Nothing more will come: fail now rather than at the deadline.
			t.Fatalf("no weight %s; Run returned: %v", what, runErr)
		}
		select {
		case <-s.notify:
		case <-deadline.C:
			ws := s.since(from)
			if len(ws) > 3 {
				ws = ws[len(ws)-3:]
			}
			s.mu.Lock()
			runErr := s.runErr
			s.mu.Unlock()
			t.Fatalf("no weight %s within 10s; last: %+v; Run returned: %v", what, ws, runErr)
		}
	}
}

func usableKg(kg string) func(devices.Weight) bool {
	want := decimal.RequireFromString(kg)
	return func(w devices.Weight) bool { return w.Usable() && w.Kg.Equal(want) }
}

func startSim(t *testing.T, proto string, opts sim.ScaleOptions) *sim.Scale {
	t.Helper()
	return simtest.StartScale(t, proto, opts)
}

type running struct {
	drv     devices.Driver
	sink    *recSink
	done    chan error // receives Run's result once
	stopped chan struct{}
	cancel  context.CancelFunc
}

func startDriver(t *testing.T, cfg devices.Config) *running {
	t.Helper()
	drv, err := scale.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return runDriver(t, drv)
}

func runDriver(t *testing.T, drv devices.Driver) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{drv: drv, sink: newSink(), done: make(chan error, 1), stopped: make(chan struct{}), cancel: cancel}
	go func() {
		err := drv.Run(ctx, r.sink)
		r.sink.mu.Lock()
		r.sink.runErr, r.sink.ran = err, true
		r.sink.mu.Unlock()
		r.done <- err
		close(r.stopped)
		r.sink.poke()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.stopped:
		case <-time.After(10 * time.Second):
			t.Error("driver did not stop within 10s of cancel")
		}
	})
	return r
}

// protoCase is one serial protocol's end-to-end setup: the simulator, the config, a load
// and what it must read as.
type protoCase struct {
	proto   string
	opts    sim.ScaleOptions
	cfgUnit string
	load    string // in the scale's unit
	kg      string // exact
}

var protoCases = []protoCase{
	{proto: scale.MTSICS, opts: sim.ScaleOptions{Unit: "kg"}, load: "1.234", kg: "1.234"},
	{proto: scale.MTSICS, opts: sim.ScaleOptions{Unit: "g", Decimals: 2}, load: "100.25", kg: "0.10025"},
	{proto: scale.Toledo8217, opts: sim.ScaleOptions{Unit: "kg"}, cfgUnit: "kg", load: "1.234", kg: "1.234"},
	{proto: scale.Toledo8217, opts: sim.ScaleOptions{Unit: "lb"}, cfgUnit: "lb", load: "1.25", kg: "0.5669904625"},
	{proto: scale.NCISCP01, opts: sim.ScaleOptions{Unit: "lb"}, load: "1.25", kg: "0.5669904625"},
	{proto: scale.NCISCP01, opts: sim.ScaleOptions{Unit: "oz"}, load: "4.90", kg: "0.1389126633125"},
	{proto: scale.ToledoContinuous, opts: sim.ScaleOptions{Unit: "kg"}, load: "1.234", kg: "1.234"},
	{proto: scale.ToledoContinuous, opts: sim.ScaleOptions{Unit: "lb", NoChecksum: true}, load: "12.50", kg: "5.6699046250"},
}

func (c protoCase) name() string { return c.proto + "/" + c.opts.Unit }

func (c protoCase) config(port string) devices.Config {
	return devices.Config{Name: "scale1", Kind: devices.KindScale, Port: port, Protocol: c.proto, Unit: c.cfgUnit,
		PollInterval: 50 * time.Millisecond, Timeout: 1500 * time.Millisecond}
}

// TestSerialScalesOnPty runs every serial protocol's driver, through tarm/serial, against
// its simulator on a real pseudo-terminal: stable weight, motion, overload, underload and
// line noise.
func TestSerialScalesOnPty(t *testing.T) {
	for _, c := range protoCases {
		t.Run(c.name(), func(t *testing.T) {
			sc := startSim(t, c.proto, c.opts)
			sc.SetLoad(decimal.RequireFromString(c.load))
			r := startDriver(t, c.config(sc.Port().Link()))

			w := r.sink.wait(t, 0, "stable "+c.kg+" kg", usableKg(c.kg))
			if w.Value.String() != decimal.RequireFromString(c.load).String() || w.Unit != c.opts.Unit {
				t.Errorf("value %s %s, want %s %s", w.Value, w.Unit, c.load, c.opts.Unit)
			}
			checkTermios(t, sc.Port().Link(), unix.B9600, false)
			r.sink.mu.Lock()
			if len(r.sink.states) == 0 || r.sink.states[0].State != devices.StateConnected {
				t.Errorf("states %+v, want connected first", r.sink.states)
			}
			r.sink.mu.Unlock()

			sc.SetMotion(true)
			r.sink.wait(t, r.sink.count(), "in motion", func(w devices.Weight) bool {
				return w.Status == devices.WeightMotion && !w.Stable && !w.Usable()
			})
			sc.SetMotion(false)
			sc.SetOverload(true)
			r.sink.wait(t, r.sink.count(), "overload", func(w devices.Weight) bool {
				return w.Status == devices.WeightOverload && !w.Usable()
			})
			sc.SetOverload(false)
			sc.SetUnderload(true)
			r.sink.wait(t, r.sink.count(), "underload", func(w devices.Weight) bool {
				return w.Status == devices.WeightUnderload && !w.Usable()
			})
			sc.SetUnderload(false)

			// Line noise: frames still arrive, and nothing corrupted is read as a weight.
			sc.SetNoise(true)
			from := r.sink.count()
			for i := 0; i < 8; i++ {
				r.sink.wait(t, r.sink.count(), "stable under noise", usableKg(c.kg))
			}
			for _, w := range r.sink.since(from) {
				if w.Usable() && !w.Kg.Equal(decimal.RequireFromString(c.kg)) {
					t.Fatalf("noise read as weight: %s %s (raw %q)", w.Value, w.Unit, w.Raw)
				}
			}
		})
	}
}

// TestSerialOverride: baud and stop bits from config reach the tty.
func TestSerialOverride(t *testing.T) {
	sc := startSim(t, scale.Toledo8217, sim.ScaleOptions{Unit: "kg"})
	sc.SetLoad(decimal.RequireFromString("1.234"))
	cfg := protoCases[2].config(sc.Port().Link())
	cfg.Baud, cfg.StopBits = 19200, 2
	r := startDriver(t, cfg)
	r.sink.wait(t, 0, "1.234", usableKg("1.234"))
	checkTermios(t, sc.Port().Link(), unix.B19200, true)
}

// TestUnplugReplug: pulling the cable ends Run with an error (the supervisor reports the
// scale disconnected); after replugging, a new Run reads again.
func TestUnplugReplug(t *testing.T) {
	for _, c := range protoCases {
		if c.opts.Unit != "kg" && c.proto != scale.NCISCP01 {
			continue
		}
		t.Run(c.name(), func(t *testing.T) {
			sc := startSim(t, c.proto, c.opts)
			sc.SetLoad(decimal.RequireFromString(c.load))
			cfg := c.config(sc.Port().Link())
			r := startDriver(t, cfg)
			r.sink.wait(t, 0, "before unplug", usableKg(c.kg))
			if err := sc.Port().Unplug(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-r.done:
				if err == nil {
					t.Fatal("Run returned nil after unplug")
				}
				t.Logf("after unplug: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("Run still running 10s after unplug")
			}
			// Reopening while unplugged fails at once: the port is not there.
			drv, _ := scale.New(cfg, nil)
			if err := drv.Run(context.Background(), newSink()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Run while unplugged: %v, want ErrNotExist", err)
			}
			if err := sc.Port().Replug(); err != nil {
				t.Fatal(err)
			}
			r2 := startDriver(t, cfg)
			r2.sink.wait(t, 0, "after replug", usableKg(c.kg))
		})
	}
}

// TestSilentScaleTimesOut: a port with no scale behind it (the simulator not running)
// fails with ErrTimeout after the configured timeout.
func TestSilentScaleTimesOut(t *testing.T) {
	for _, proto := range []string{scale.MTSICS, scale.Toledo8217, scale.NCISCP01, scale.ToledoContinuous} {
		t.Run(proto, func(t *testing.T) {
			port, err := sim.OpenPort(filepath.Join(t.TempDir(), "silent"))
			if err != nil {
				t.Fatal(err)
			}
			defer port.Close()
			drv, err := scale.New(devices.Config{Name: "s", Kind: devices.KindScale, Port: port.Link(), Protocol: proto, Unit: "kg", Timeout: 300 * time.Millisecond}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = drv.Run(context.Background(), newSink())
			if !errors.Is(err, scale.ErrTimeout) || !errors.Is(err, devices.ErrGone) {
				t.Fatalf("err %v, want ErrTimeout and devices.ErrGone (disconnected)", err)
			}
		})
	}
}

// TestSlowZeroThenLostReplyStaysConnected: the reply to a zero is a valid reply. A scale
// that takes most of the timeout to answer a zero and then loses one poll reply is still
// answering: it must stay connected and go on reading (issue #12 item 15).
func TestSlowZeroThenLostReplyStaysConnected(t *testing.T) {
	for _, c := range []protoCase{protoCases[0], protoCases[2], protoCases[4]} {
		t.Run(c.name(), func(t *testing.T) {
			sc := startSim(t, c.proto, c.opts)
			sc.SetLoad(decimal.RequireFromString(c.load))
			cfg := c.config(sc.Port().Link()) // timeout 1.5 s: a poll waits 0.75 s for its reply
			r := startDriver(t, cfg)
			r.sink.wait(t, 0, "before zero", usableKg(c.kg))
			// 1.2 s to zero, then 0.75 s for the lost reply: 1.95 s since the last poll
			// reply, but only 0.75 s since the scale last answered.
			sc.SlowZero(1200*time.Millisecond, 1)
			if err := r.drv.(scale.Zeroer).Zero(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The poll after the zero is lost; the next one reads the zeroed platter.
			r.sink.wait(t, 0, "0 after the lost reply", usableKg("0"))
			select {
			case err := <-r.done:
				t.Fatalf("Run returned %v: the scale was reported disconnected", err)
			default:
			}
		})
	}
}

func TestMTSICSZeroTare(t *testing.T) {
	sc := startSim(t, scale.MTSICS, sim.ScaleOptions{Unit: "kg"})
	sc.SetLoad(decimal.RequireFromString("0.020"))
	r := startDriver(t, protoCases[0].config(sc.Port().Link()))
	r.sink.wait(t, 0, "0.020", usableKg("0.020"))
	ctx := context.Background()
	z, ok := r.drv.(scale.Zeroer)
	if !ok {
		t.Fatal("mt-sics driver is not a Zeroer")
	}
	if err := z.Zero(ctx); err != nil {
		t.Fatal(err)
	}
	if !sc.Displayed().IsZero() {
		t.Fatalf("displayed %s after zero", sc.Displayed())
	}
	r.sink.wait(t, r.sink.count(), "zero", usableKg("0"))

	sc.SetLoad(decimal.RequireFromString("0.520")) // a 0.5 kg box on the zeroed platter
	r.sink.wait(t, r.sink.count(), "box", usableKg("0.5"))
	if err := r.drv.(scale.Tarer).Tare(ctx); err != nil {
		t.Fatal(err)
	}
	sc.SetLoad(decimal.RequireFromString("1.754"))
	w := r.sink.wait(t, r.sink.count(), "net 1.234", usableKg("1.234"))
	if !w.Net {
		t.Errorf("reading after tare not Net: %+v", w)
	}
	if err := r.drv.(scale.TareClearer).ClearTare(ctx); err != nil {
		t.Fatal(err)
	}
	w = r.sink.wait(t, r.sink.count(), "gross 1.734", usableKg("1.734"))
	if w.Net {
		t.Errorf("reading after clear tare still Net")
	}
	// In motion, MT-SICS answers Z I: refused with a reason.
	sc.SetMotion(true)
	if err := z.Zero(ctx); !errors.Is(err, scale.ErrRefused) {
		t.Fatalf("zero in motion: %v, want ErrRefused", err)
	}
}

func Test8217ZeroTare(t *testing.T) {
	sc := startSim(t, scale.Toledo8217, sim.ScaleOptions{Unit: "kg"})
	sc.SetLoad(decimal.RequireFromString("0.004"))
	r := startDriver(t, protoCases[2].config(sc.Port().Link()))
	r.sink.wait(t, 0, "0.004", usableKg("0.004"))
	ctx := context.Background()
	if err := r.drv.(scale.Zeroer).Zero(ctx); err != nil {
		t.Fatal(err)
	}
	r.sink.wait(t, r.sink.count(), "zero", usableKg("0"))
	sc.SetLoad(decimal.RequireFromString("0.504"))
	r.sink.wait(t, r.sink.count(), "box", usableKg("0.5"))
	if err := r.drv.(scale.Tarer).Tare(ctx); err != nil {
		t.Fatal(err)
	}
	w := r.sink.wait(t, r.sink.count(), "net zero", usableKg("0"))
	if !w.Net {
		t.Errorf("after tare: %+v, want Net", w)
	}
	// Zero is refused in net mode (DIVA: zero only in gross mode); the reason says so.
	err := r.drv.(scale.Zeroer).Zero(ctx)
	if !errors.Is(err, scale.ErrRefused) {
		t.Fatalf("zero with tare: %v, want ErrRefused", err)
	}
	t.Logf("refused: %v", err)
	if err := r.drv.(scale.TareClearer).ClearTare(ctx); err != nil {
		t.Fatal(err)
	}
	w = r.sink.wait(t, r.sink.count(), "gross 0.5", usableKg("0.5"))
	if w.Net {
		t.Errorf("after clear tare still Net")
	}
}

func TestNCIZero(t *testing.T) {
	sc := startSim(t, scale.NCISCP01, sim.ScaleOptions{Unit: "lb"})
	sc.SetLoad(decimal.RequireFromString("0.02"))
	r := startDriver(t, protoCases[4].config(sc.Port().Link()))
	r.sink.wait(t, 0, "0.02 lb", usableKg("0.0090718474"))
	if _, ok := r.drv.(scale.Tarer); ok {
		t.Error("nci-scp01 has no tare command, yet the driver is a Tarer")
	}
	if err := r.drv.(scale.Zeroer).Zero(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.sink.wait(t, r.sink.count(), "zero", usableKg("0"))
	sc.SetMotion(true)
	if err := r.drv.(scale.Zeroer).Zero(context.Background()); !errors.Is(err, scale.ErrRefused) {
		t.Fatalf("zero in motion: %v, want ErrRefused", err)
	}
}

func TestContinuousHasNoCommands(t *testing.T) {
	drv, err := scale.New(devices.Config{Name: "c", Kind: devices.KindScale, Port: "/dev/null", Protocol: scale.ToledoContinuous}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := drv.(scale.Zeroer); ok {
		t.Error("toledo-continuous driver is a Zeroer")
	}
	drv, _ = scale.New(devices.Config{Name: "m", Kind: devices.KindScale, Port: "/dev/null", Protocol: scale.MTSICS}, nil)
	if err := drv.(scale.Zeroer).Zero(context.Background()); !errors.Is(err, scale.ErrNotRunning) {
		t.Errorf("zero before Run: %v, want ErrNotRunning", err)
	}
}

func TestReadStable(t *testing.T) {
	sc := startSim(t, scale.MTSICS, sim.ScaleOptions{Unit: "kg"})
	sc.SetLoad(decimal.RequireFromString("2.500"))
	cfg := protoCases[0].config(sc.Port().Link())
	w, err := scale.ReadStable(context.Background(), cfg, nil)
	if err != nil || !w.Kg.Equal(decimal.RequireFromString("2.5")) {
		t.Fatalf("%+v %v", w, err)
	}
	// In motion for good: ReadStable gives up when its context ends, saying why.
	sc.SetMotion(true)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err = scale.ReadStable(ctx, cfg, nil)
	if !errors.Is(err, scale.ErrNoStable) {
		t.Fatalf("err %v, want ErrNoStable", err)
	}
	t.Log(err)
}

// checkTermios reads the line settings the driver put on the tty through tarm/serial:
// baud and stop bits. (A Linux pty forces CS8 without parity whatever is asked,
// drivers/tty/pty.c pty_set_termios, so data bits and parity are checked on the tarm
// config instead: TestTarmConfig.)
func checkTermios(t *testing.T, path string, baud uint32, stop2 bool) {
	t.Helper()
	var tio *unix.Termios
	onTTY(t, path, func(fd int) (err error) { tio, err = unix.IoctlGetTermios(fd, unix.TCGETS); return err })
	if tio.Cflag&unix.CBAUD != baud || (tio.Cflag&unix.CSTOPB != 0) != stop2 {
		t.Errorf("termios cflag %#o: want baud %#o, 2 stop bits %v", tio.Cflag, baud, stop2)
	}
}

// onTTY runs f on a descriptor of the tty at path, opened without becoming its
// controlling terminal and without blocking; an error fails the test.
func onTTY(t *testing.T, path string, f func(fd int) error) {
	t.Helper()
	file, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	rc, err := file.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = f(int(fd)) }); err != nil || ioErr != nil {
		t.Fatal(err, ioErr)
	}
}
