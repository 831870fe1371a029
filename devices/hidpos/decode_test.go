package hidpos_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/hidpos"
	"github.com/depotd/depotd/devices/scale/unit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// catalogue: HID POS Scale Data Reports, devices.md §1.7 (erjiang/usbscale usbscale.c;
// HID Point of Sale usage tables: status usages 0x71..0x78, units 0x51..0x5C).
var catalogue = []struct {
	name, cite, hex string
	value, unit     string // "" value: none
	kg              string
	stable          bool
	status          devices.WeightStatus
	err             error
}{
	{"dymo 4.9 oz", "§1.7 vector '03 04 0B FF 31 00 = stable, 4.9 oz'", "03040BFF3100", "4.9", "oz", "0.1389126633125", true, devices.WeightOK, nil},
	{"zero oz", "§1.7 status 2 stable at centre of zero", "03020BFF0000", "0", "oz", "0", true, devices.WeightOK, nil},
	{"grams", "§1.7 unit 2 = g, weight LE", "03040200D204", "1234", "g", "1.234", true, devices.WeightOK, nil},
	{"kg exp -3", "§1.7 unit 3 = kg, int8 exponent", "040403FDD204", "1.234", "kg", "1.234", true, devices.WeightOK, nil},
	{"lb exp -2", "§1.7 unit 12 = lb", "03040CFE7D00", "1.25", "lb", "0.5669904625", true, devices.WeightOK, nil},
	{"motion", "§1.7 status 3 in motion", "03030BFF2C00", "4.4", "oz", "0.1247379017500", false, devices.WeightMotion, nil},
	{"under zero", "§1.7 status 5 under zero", "030502000A00", "0", "g", "0", false, devices.WeightUnderload, nil},
	{"over limit", "§1.7 status 6 over limit", "03060BFFFFFF", "0", "oz", "0", false, devices.WeightOverload, nil},
	{"fault", "§1.7 status 1 fault", "030102000000", "0", "g", "0", false, devices.WeightError, nil},
	{"needs calibration", "§1.7 status 7", "030702000000", "0", "g", "0", false, devices.WeightError, nil},
	{"needs rezero", "§1.7 status 8", "030802000000", "0", "g", "0", false, devices.WeightError, nil},
	{"mg refused", "§1.7 unit 1 = mg", "030401000100", "", "", "", false, "", unit.ErrUnsupported},
	{"troy oz refused", "§1.7 unit 10 = ozt", "03040A000100", "", "", "", false, "", unit.ErrUnsupported},
	{"report id", "§1.7 report ID 3 (or 4)", "02040B000100", "", "", "", false, "", hidpos.ErrMalformed},
	{"status 0", "§1.7 status 1..8", "03000B000100", "", "", "", false, "", hidpos.ErrMalformed},
	{"status 9", "§1.7 status 1..8", "03090B000100", "", "", "", false, "", hidpos.ErrMalformed},
	{"unit 0", "§1.7 unit 1..12", "030400000100", "", "", "", false, "", hidpos.ErrMalformed},
	{"unit 13", "§1.7 unit 1..12", "03040D000100", "", "", "", false, "", hidpos.ErrMalformed},
	{"short", "§1.7 six bytes", "03040B0001", "", "", "", false, "", hidpos.ErrMalformed},
	{"long", "§1.7 six bytes", "03040B00010000", "", "", "", false, "", hidpos.ErrMalformed},
}

func TestCatalogue(t *testing.T) {
	for _, c := range catalogue {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		r, err := hidpos.Decode(b)
		var w devices.Weight
		if err == nil {
			w, err = r.Weight("s", time.Now(), b)
		}
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s (%s): err %v, want %v", c.name, c.cite, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s (%s): %v", c.name, c.cite, err)
			continue
		}
		if !w.Value.Equal(decimal.RequireFromString(c.value)) || w.Unit != c.unit || !w.Kg.Equal(decimal.RequireFromString(c.kg)) {
			t.Errorf("%s: %s %s = %s kg, want %s %s = %s kg", c.name, w.Value, w.Unit, w.Kg, c.value, c.unit, c.kg)
		}
		if w.Stable != c.stable || w.Status != c.status {
			t.Errorf("%s: stable=%v status=%q, want %v %q", c.name, w.Stable, w.Status, c.stable, c.status)
		}
		if !bytes.Equal(w.Raw, b) {
			t.Errorf("%s: raw % x", c.name, w.Raw)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range catalogue {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := hidpos.Decode(b)
		if err != nil {
			return
		}
		w, err := r.Weight("s", time.Time{}, b)
		if err != nil {
			return
		}
		if w.Stable && w.Status != devices.WeightOK {
			t.Fatalf("stable with status %q", w.Status)
		}
		if !unit.Valid(w.Unit) {
			t.Fatalf("unit %q", w.Unit)
		}
	})
}

// readSession loads a testdata/sessions/*.hex file: one report per line, # comments.
func readSession(t *testing.T, name string) []byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sessions", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
		if err != nil || len(b) != hidpos.ReportSize {
			t.Fatalf("%s: bad line %q", name, line)
		}
		out = append(out, b...)
	}
	return out
}

type recSink struct {
	mu      sync.Mutex
	weights []devices.Weight
	states  []devices.DeviceState
}

func (s *recSink) Scan(devices.Scan)       {}
func (s *recSink) BadScan(devices.BadScan) {}
func (s *recSink) Weight(w devices.Weight) {
	s.mu.Lock()
	s.weights = append(s.weights, w)
	s.mu.Unlock()
}
func (s *recSink) State(st devices.DeviceState) {
	s.mu.Lock()
	s.states = append(s.states, st)
	s.mu.Unlock()
}

type sessionWant struct {
	value, unit string
	status      devices.WeightStatus
	usable      bool
}

// TestSessionsThroughFIFO runs the real driver (open, read loop, stale-report discard,
// decode, deliver) on a FIFO fed with a recorded session, as it runs on /dev/hidrawN.
func TestSessionsThroughFIFO(t *testing.T) {
	cases := []struct {
		file string
		want []sessionWant
	}{
		{"dymo-m10-oz.hex", []sessionWant{
			{"0", "oz", devices.WeightOK, true},
			{"4.4", "oz", devices.WeightMotion, false},
			{"4.9", "oz", devices.WeightOK, true},
			{"0", "oz", devices.WeightOverload, false},
		}},
		{"dymo-m25-g.hex", []sessionWant{
			{"1234", "g", devices.WeightOK, true},
			{"0", "g", devices.WeightUnderload, false},
			{"2000", "g", devices.WeightOK, true},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data := readSession(t, c.file)
			fifo := filepath.Join(t.TempDir(), "hidraw0")
			if err := unix.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			writeErr := make(chan error, 1)
			go func() {
				// Opening for writing blocks until the driver opens for reading.
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					writeErr <- err
					return
				}
				// One write per report, as the kernel queues them.
				for i := 0; i < len(data); i += hidpos.ReportSize {
					if _, err := w.Write(data[i : i+hidpos.ReportSize]); err != nil {
						w.Close()
						writeErr <- err
						return
					}
				}
				writeErr <- w.Close()
			}()
			drv, err := hidpos.New(devices.Config{Name: "pack1", Kind: devices.KindScale, Port: fifo, Protocol: "hid-pos"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sink := &recSink{}
			err = drv.Run(context.Background(), sink)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("Run after the writer closed: %v, want EOF (device gone)", err)
			}
			if err := <-writeErr; err != nil {
				t.Fatal(err)
			}
			if len(sink.states) != 1 || sink.states[0].State != devices.StateConnected {
				t.Errorf("states %+v", sink.states)
			}
			var got []devices.Weight
			for _, w := range sink.weights {
				if w.Status != devices.WeightError || w.Unit != "kg" {
					got = append(got, w)
				}
			}
			if len(got) != len(c.want) {
				t.Fatalf("%d weights, want %d: %+v", len(got), len(c.want), got)
			}
			for i, w := range c.want {
				g := got[i]
				if !g.Value.Equal(decimal.RequireFromString(w.value)) || g.Unit != w.unit || g.Status != w.status || g.Usable() != w.usable {
					t.Errorf("weight %d: %s %s %s usable=%v, want %+v", i, g.Value, g.Unit, g.Status, g.Usable(), w)
				}
			}
		})
	}
}

// TestRunStopsOnCancel: a driver blocked reading a silent device returns nil on cancel.
func TestRunStopsOnCancel(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "hidraw1")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Hold a writer open (non-blocking open for read-write is allowed on Linux FIFOs), so
	// the driver's reads block instead of seeing EOF.
	hold, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	drv, _ := hidpos.New(devices.Config{Name: "pack1", Port: fifo}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- drv.Run(ctx, &recSink{}) }()
	// Zero reaches the device while Run runs: the output report lands in the FIFO.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := drv.Zero(context.Background()); err == nil {
			break
		} else if !errors.Is(err, hidpos.ErrNotRunning) || time.Now().After(deadline) {
			t.Fatalf("zero: %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling for Run to have opened the node
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestTimeout: with a timeout configured, a silent device fails Run with ErrTimeout.
func TestTimeout(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "hidraw2")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	hold, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	drv, _ := hidpos.New(devices.Config{Name: "pack1", Port: fifo, Timeout: 200 * time.Millisecond}, nil)
	if err := drv.Run(context.Background(), &recSink{}); !errors.Is(err, hidpos.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
}

func TestReadReportsShort(t *testing.T) {
	var n int
	err := hidpos.ReadReports(bytes.NewReader([]byte{3, 4, 2, 0, 1, 0, 3, 4}), func([]byte) error { n++; return nil })
	if n != 1 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("n=%d err=%v", n, err)
	}
}
