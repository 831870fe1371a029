package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/devices/drivers"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/anomaly"
	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/edge/replenish"
	"github.com/depotd/depotd/edge/station"
	"github.com/depotd/depotd/edge/synchealth"
	"github.com/depotd/depotd/uplink"
	"golang.org/x/sync/errgroup"
)

// daemon is depotd's running state: what run and demo start.
type daemon struct {
	cfg      *Config
	log      *slog.Logger
	journal  *edge.Journal
	server   *console.Server
	ln       net.Listener
	devices  *devices.Supervisor
	stations *station.Manager
	uplink   *uplink.Uplink // nil for a standalone depot
}

// dbFile is the journal's file name inside data_dir.
const dbFile = "depotd.db"

// withDemoLink gives the console the demo's link switch.
func withDemoLink(l *demoLink) func(*console.Options) {
	return func(o *console.Options) { o.DemoLink = l }
}

// openDaemon opens the journal and binds the console's listener, so that every start-up
// error (data dir not writable, database locked, port taken, bad TLS files) is reported
// before anything runs.
func openDaemon(cfg *Config, log *slog.Logger, consoleOpts ...func(*console.Options)) (d *daemon, err error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	if err := checkWritable(cfg.DataDir); err != nil {
		return nil, err
	}
	dec, err := barcode.NewDecoder(cfg.Barcodes)
	if err != nil {
		return nil, fmt.Errorf("barcodes: %w", err)
	}
	units, err := drivers.Units(cfg.Devices, log)
	if err != nil {
		return nil, err
	}
	j, err := edge.Open(filepath.Join(cfg.DataDir, dbFile), edge.Options{
		Depot: cfg.Depot.ID, Catalog: cfg.catalog(), Logger: log.With("component", "journal"),
		MaxDBSize: int64(cfg.Journal.MaxDBSize), Master: cfg.masterData(),
	})
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			j.Close()
		}
	}()
	d = &daemon{cfg: cfg, log: log, journal: j}
	// The stations are the devices' sink, and beep through the supervisor that feeds them.
	var sup *devices.Supervisor
	opts, err := cfg.stationOptions(j, dec, func(name string) devices.Beeper { return scannerBeeper{&sup, name} }, log)
	if err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	if d.stations, err = station.New(opts); err != nil {
		return nil, fmt.Errorf("stations: %w", err)
	}
	sup = devices.NewSupervisor(units, d.stations, log)
	d.devices = sup
	shown := *cfg // the settings page shows what runs: defaults filled in
	if cfg.Uplink != nil {
		eff := cfg.Uplink.Effective(cfg.Depot.ID)
		shown.Uplink = &eff
	}
	copts := console.Options{
		Version: versionString(), Logger: log.With("component", "console"), Started: time.Now(),
		Devices:  func() any { return d.devices.Registry().Snapshot() },
		Settings: shown, // shown read-only on the console, every secret masked
		Stations: console.StationsFrom(func() []station.Status { return d.stations.Snapshot().Stations }, d.stations.Subscribe),
		TestScan: testScanner(dec),
	}
	// One tracker for the console, /metrics and the status message: it keeps its last
	// report (10 to 30 s), so they do not each read the window.
	syncHealth := synchealth.NewTracker(j)
	copts.SyncHealth = syncHealth
	if cfg.Uplink != nil {
		d.uplink, err = uplink.New(*cfg.Uplink, cfg.Depot.ID, j, deviceStates{sup.Registry()}, log.With("component", "uplink"),
			uplink.WithVersion(versionString()), uplink.WithDataDir(cfg.DataDir), uplink.WithSyncHealth(uplink.SyncHealthFrom(syncHealth)))
		if err != nil {
			return nil, fmt.Errorf("uplink: %w", err)
		}
		copts.Uplink = console.UplinkFrom(d.uplink.State)
		copts.Snapshot = d.uplink
	}
	for _, o := range consoleOpts {
		o(&copts)
	}
	d.server = console.New(cfg.Console, j, copts)
	if d.ln, err = net.Listen("tcp", cfg.Console.Listen); err != nil {
		return nil, fmt.Errorf("console listen %s: %w", cfg.Console.Listen, err)
	}
	return d, nil
}

// deviceStates gives the uplink's status message the devices' states.
type deviceStates struct{ reg *devices.Registry }

func (d deviceStates) DeviceStates() []uplink.DeviceStatus {
	snap := d.reg.Snapshot()
	out := make([]uplink.DeviceStatus, len(snap))
	for i, s := range snap {
		out[i] = uplink.DeviceStatus{Name: s.Name, State: string(s.State)}
	}
	return out
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".depotd-write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// run runs every part under one errgroup until ctx is done, then shuts down in order:
// the console stops taking requests, and the journal closes last. Shutdown is bounded by
// shutdownTimeout (lifecycle.go); systemd hears READY, WATCHDOG and STOPPING.
func (d *daemon) run(ctx context.Context) error {
	st, err := d.journal.Status()
	if err != nil {
		return err
	}
	d.log.Info("depotd started", "depot", d.cfg.Depot.ID, "version", versionString(),
		"data_dir", d.cfg.DataDir, "last_seq", st.LastSeq, "backlog", st.Backlog)
	d.log.Info("console listening", "addr", d.ln.Addr().String())
	// Two phases (lifecycle.go): the parts that make transactions stop first, then the
	// uplink forwards what they committed, as far as the link allows, and says offline.
	fctx, front := context.WithCancel(ctx)
	defer front()
	g, gctx := errgroup.WithContext(fctx)
	g.Go(func() error { return d.server.Serve(gctx, d.ln) })
	g.Go(func() error { return d.devices.Run(gctx) })
	g.Go(func() error { return d.stations.Run(gctx) })
	g.Go(func() error { return d.journal.RunRetention(gctx, d.cfg.Journal) })
	g.Go(func() error {
		return anomaly.NewWatcher(d.journal, d.cfg.Anomalies, d.log.With("component", "anomaly")).Run(gctx)
	})
	g.Go(func() error {
		return replenish.NewProposer(d.journal, d.cfg.Replenishment, d.log.With("component", "replenish")).Run(gctx)
	})
	g.Go(func() error {
		return runWatchdog(gctx, d.log, func() error { _, err := d.journal.Status(); return err })
	})
	var up *lastPart
	if d.uplink != nil {
		// A failing uplink stops the front parts too, as a failing part of g would.
		up = startLastPart(func(ctx context.Context) error { return d.uplink.Run(ctx) }, front)
	}
	sdNotify(d.log, "READY=1")
	var began time.Time
	began, err = waitParts(d.log, g, gctx, shutdownTimeout)
	deadline := began.Add(shutdownTimeout)
	if up != nil {
		if up.running() {
			drainUplink(d.log, d.journal.Positions, func() bool { return d.uplink.State().Online }, deadline)
		}
		if uerr := up.stop(deadline); uerr != nil && err == nil {
			err = uerr
		}
	}
	if cerr := d.journal.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	d.log.Info("depotd stopped")
	return err
}

// testScanner backs the console's "test scan" box with the decoder the stations use.
func testScanner(dec *barcode.Decoder) console.ScanTester {
	return console.TestScanFunc(func(ctx context.Context, raw string) (console.TestScanResult, error) {
		res, err := dec.Decode([]byte(raw), "")
		if err != nil {
			return console.TestScanResult{}, err
		}
		return console.TestScanResult{Summary: string(res.Kind) + " (" + res.Symbology + ")", Fields: console.FieldsOf(res)}, nil
	})
}
