package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/drivers"
)

// watchEvent is one line of `depotd devices watch`: what a device delivered, in the
// daemon's own words, so an installer (or a test on a real kernel) sees exactly what the
// stations would get. Bytes are hex; scan data is a string (GS as \u001d).
type watchEvent struct {
	Event  string    `json:"event"` // scan, bad_scan, weight, state
	Device string    `json:"device"`
	At     time.Time `json:"at"`
	AIM    string    `json:"aim,omitempty"`
	Data   string    `json:"data,omitempty"`
	RawHex string    `json:"raw_hex,omitempty"`
	Reason string    `json:"reason,omitempty"`
	State  string    `json:"state,omitempty"`
	Value  string    `json:"value,omitempty"`
	Unit   string    `json:"unit,omitempty"`
	Stable bool      `json:"stable,omitempty"`
	Status string    `json:"status,omitempty"`
}

// watchSink prints each event as one JSON line; drivers call it from their own
// goroutines, so writes are serialised.
type watchSink struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (s *watchSink) emit(e watchEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.enc.Encode(e) // stdout gone: nothing left to tell
}

func (s *watchSink) Scan(v devices.Scan) {
	s.emit(watchEvent{Event: "scan", Device: v.Device, At: v.At, AIM: v.AIM, Data: string(v.Data), RawHex: hex.EncodeToString(v.Raw)})
}
func (s *watchSink) BadScan(b devices.BadScan) {
	s.emit(watchEvent{Event: "bad_scan", Device: b.Device, At: b.At, Reason: b.Reason, RawHex: hex.EncodeToString(b.Raw)})
}
func (s *watchSink) Weight(w devices.Weight) {
	s.emit(watchEvent{Event: "weight", Device: w.Device, At: w.At, Value: w.Value.String(), Unit: w.Unit,
		Stable: w.Stable, Status: string(w.Status), RawHex: hex.EncodeToString(w.Raw)})
}
func (s *watchSink) State(st devices.DeviceState) {
	s.emit(watchEvent{Event: "state", Device: st.Device, At: st.Since, State: string(st.State), Reason: st.Reason})
}

// devicesWatch runs the config's devices under the daemon's supervisor (reconnects
// included) and prints what they deliver until interrupted. Nothing is journalled.
func devicesWatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd devices watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/depotd/depotd.yaml", "config file whose devices are watched")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return 2
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "depotd devices watch:", err)
		return 1
	}
	if len(cfg.Devices) == 0 {
		fmt.Fprintf(stderr, "depotd devices watch: %s has no devices\n", *cfgPath)
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	units, err := drivers.Units(cfg.Devices, log)
	if err != nil {
		fmt.Fprintln(stderr, "depotd devices watch:", err)
		return 1
	}
	sup := devices.NewSupervisor(units, &watchSink{enc: json.NewEncoder(stdout)}, log)
	_ = sup.Run(ctx) // always nil: device failures are printed as states
	return 0
}
