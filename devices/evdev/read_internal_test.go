package evdev

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
)

type recSink struct {
	mu    sync.Mutex
	scans []devices.Scan
	bad   []devices.BadScan
}

func (s *recSink) Scan(v devices.Scan)       { s.mu.Lock(); s.scans = append(s.scans, v); s.mu.Unlock() }
func (s *recSink) BadScan(v devices.BadScan) { s.mu.Lock(); s.bad = append(s.bad, v); s.mu.Unlock() }
func (s *recSink) Weight(devices.Weight)     {}
func (s *recSink) State(devices.DeviceState) {}

// TestReadLoopOverPipe runs the I/O loop of Run on a real pipe carrying the recorded DE
// stream in odd-sized writes (events split across reads), then closes the writer as an
// unplug would end the stream. Only the open and EVIOCGRAB of Run are not exercised.
func TestReadLoopOverPipe(t *testing.T) {
	stream, err := os.ReadFile("testdata/de.evdev")
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	d := &Driver{name: "wedge", port: "pipe", layout: DE, log: slog.New(slog.DiscardHandler)}
	s := &recSink{}
	done := make(chan error, 1)
	go func() { done <- d.read(context.Background(), r, 24, s) }()
	for len(stream) > 0 {
		n := min(37, len(stream))
		if _, err := w.Write(stream[:n]); err != nil {
			t.Fatal(err)
		}
		stream = stream[n:]
	}
	w.Close()
	select {
	case err := <-done:
		if !errors.Is(err, devices.ErrGone) {
			t.Fatalf("read after writer closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read loop did not end")
	}
	if len(s.scans) != 3 || string(s.scans[0].Data) != "0109501101530003\x1d10XYZ-7" || s.scans[1].AIM != "]d2" || s.scans[0].Device != "wedge" {
		t.Fatalf("scans %+v bad %+v", s.scans, s.bad)
	}
}

// TestReadLoopStopsOnCancel: with nothing arriving, cancelling ctx ends the loop within
// a poll interval.
func TestReadLoopStopsOnCancel(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	d := &Driver{name: "wedge", port: "pipe", layout: US, log: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.read(ctx, r, 24, &recSink{}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read loop ignored cancel")
	}
}
