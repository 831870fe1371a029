package serialscan_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/serialscan"
	"github.com/depotd/depotd/devices/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type sink struct {
	mu     sync.Mutex
	scans  []devices.Scan
	bad    []devices.BadScan
	states []devices.DeviceState
}

func (s *sink) Scan(v devices.Scan)       { s.mu.Lock(); s.scans = append(s.scans, v); s.mu.Unlock() }
func (s *sink) BadScan(v devices.BadScan) { s.mu.Lock(); s.bad = append(s.bad, v); s.mu.Unlock() }
func (s *sink) Weight(devices.Weight)     {}
func (s *sink) State(v devices.DeviceState) {
	s.mu.Lock()
	s.states = append(s.states, v)
	s.mu.Unlock()
}
func (s *sink) counts() (int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.scans), len(s.bad), len(s.states)
}

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

// runDriver runs a driver for cfg on a simulated scanner until the test ends.
func runDriver(t *testing.T, cfg devices.Config, f sim.ScannerFraming) (*sim.Scanner, *sink, func() error) {
	t.Helper()
	sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "usb-Zebra_DS2208-if00"), f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	cfg.Name, cfg.Kind, cfg.Port = "dock", devices.KindScanner, sc.Link()
	d, err := serialscan.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &sink{}
	done := make(chan struct{})
	var runErr error
	go func() { runErr = d.Run(ctx, s); close(done) }()
	// wait returns Run's result, or fails the test if Run does not return in time.
	wait := func() error {
		select {
		case <-done:
			return runErr
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
			return nil
		}
	}
	t.Cleanup(func() { cancel(); wait() })
	waitFor(t, "connected", func() bool { _, _, n := s.counts(); return n > 0 })
	return sc, s, wait
}

// TestDriverOnPTY drives every framing mode through real tarm/serial on a pty.
func TestDriverOnPTY(t *testing.T) {
	for _, c := range []struct {
		name    string
		cfg     devices.Config
		framing sim.ScannerFraming
	}{
		{"auto_cr_7e1", devices.Config{DataBits: 7, Parity: "even", Baud: 9600}, sim.ScannerFraming{Suffix: "\r"}},
		{"auto_crlf_115200", devices.Config{Baud: 115200}, sim.ScannerFraming{Suffix: "\r\n"}},
		{"lf_2stop", devices.Config{Suffix: "lf", StopBits: 2}, sim.ScannerFraming{Suffix: "\n"}},
		{"crlf", devices.Config{Suffix: "crlf"}, sim.ScannerFraming{Suffix: "\r\n"}},
		{"etx_stx", devices.Config{Suffix: "etx", Prefix: `\x02`}, sim.ScannerFraming{Prefix: "\x02", Suffix: "\x03"}},
		{"none_timeout", devices.Config{Suffix: "none", CharTimeout: 150 * time.Millisecond}, sim.ScannerFraming{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc, s, _ := runDriver(t, c.cfg, c.framing)
			if err := sc.Scan("]C1", "0109501101530003\x1d10LOT"); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "scan 1", func() bool { n, _, _ := s.counts(); return n == 1 })
			// Byte by byte: the frame spans many reads (none mode would cut it at a gap
			// longer than its timeout, so gaps stay well below it).
			if err := sc.ScanSlowly(context.Background(), "]E0", "4006381333931", 2*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "scan 2", func() bool { n, _, _ := s.counts(); return n == 2 })
			s.mu.Lock()
			defer s.mu.Unlock()
			if got := s.scans[0]; got.AIM != "]C1" || string(got.Data) != "0109501101530003\x1d10LOT" || got.Device != "dock" {
				t.Errorf("scan 1 = %+v", got)
			}
			if got := s.scans[1]; got.AIM != "]E0" || string(got.Data) != "4006381333931" {
				t.Errorf("scan 2 = %+v", got)
			}
			if len(s.bad) != 0 {
				t.Errorf("bad scans %+v", s.bad)
			}
		})
	}
}

func TestDriverLineNoise(t *testing.T) {
	sc, s, _ := runDriver(t, devices.Config{MaxLength: 64}, sim.ScannerFraming{Suffix: "\r"})
	rng := rand.New(rand.NewPCG(1, 2))
	if err := sc.Noise([]byte("\x00\x07\xff\r")); err != nil {
		t.Fatal(err)
	}
	if err := sc.Garbage(rng, 500); err != nil {
		t.Fatal(err)
	}
	if err := sc.Scan("]E0", "4006381333931"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "good scan after noise", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.scans) > 0 && string(s.scans[len(s.scans)-1].Data) == "4006381333931"
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) == 0 || !strings.Contains(s.bad[0].Reason, "raw 0007ff") {
		t.Fatalf("noise not reported with hex: %+v", s.bad)
	}
	for _, sc := range s.scans {
		for _, c := range sc.Data {
			if c < 0x20 && c != 0x1d || c == 0x7f {
				t.Fatalf("garbage passed as a scan: %q", sc.Data)
			}
		}
	}
}

func TestDriverIncompleteFrameRefused(t *testing.T) {
	sc, s, _ := runDriver(t, devices.Config{}, sim.ScannerFraming{Suffix: "\r"})
	if err := sc.Noise([]byte("]E0400638")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "incomplete frame refused", func() bool { _, n, _ := s.counts(); return n == 1 })
	s.mu.Lock()
	defer s.mu.Unlock()
	if !strings.Contains(s.bad[0].Reason, serialscan.ErrIncomplete.Error()) || string(s.bad[0].Raw) != "]E0400638" {
		t.Fatalf("bad scan %+v", s.bad[0])
	}
	if len(s.scans) != 0 {
		t.Fatalf("incomplete frame passed as scan %+v", s.scans)
	}
}

func TestDriverReturnsGoneOnUnplug(t *testing.T) {
	sc, _, wait := runDriver(t, devices.Config{}, sim.ScannerFraming{Suffix: "\r"})
	if err := sc.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); !errors.Is(err, devices.ErrGone) {
		t.Fatalf("Run after unplug: %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	cfg := devices.Config{Baud: 9601, DataBits: 6, Parity: "mark", StopBits: 3, Suffix: "tab",
		Prefix: `\q`, MaxLength: -1, CharTimeout: -time.Second, Layout: "us", Protocol: "mt-sics", Unit: "kg", Timeout: time.Second}
	var keys []string
	serialscan.CheckConfig(&cfg, "devices[1]", func(key, msg string) { keys = append(keys, key) })
	want := []string{"baud", "data_bits", "parity", "stop_bits", "suffix", "prefix", "max_length", "char_timeout", "layout", "protocol", "unit", "timeout"}
	for _, k := range want {
		found := false
		for _, g := range keys {
			found = found || g == "devices[1]."+k
		}
		if !found {
			t.Errorf("no report for %s (got %v)", k, keys)
		}
	}
	var none []string
	good := devices.Config{Name: "a", Kind: devices.KindScanner, Port: "/dev/ttyACM0", Baud: 38400, DataBits: 7, Parity: "odd", StopBits: 2, Suffix: "CRLF"}
	serialscan.CheckConfig(&good, "devices[0]", func(key, msg string) { none = append(none, key) })
	if len(none) != 0 {
		t.Errorf("good config reported %v", none)
	}
	if _, err := serialscan.New(cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("New accepted a bad config")
	}
}
