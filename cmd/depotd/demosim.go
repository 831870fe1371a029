package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/sim"
	"github.com/shopspring/decimal"
)

// demoDevices are the simulated scanner and scale the demo plugs in: real pseudo-terminals
// speaking the real protocols, so the demo runs the same drivers a gateway does.
type demoDevices struct {
	scanner *sim.Scanner
	scale   *sim.Scale
	log     *slog.Logger
}

// openDemoDevices creates the simulators under dir and points the config's scanner1 and
// scale1 at them.
func openDemoDevices(cfg *Config, dir string, log *slog.Logger) (*demoDevices, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	d := &demoDevices{log: log.With("component", "demo-sim")}
	for i := range cfg.Devices {
		dev := &cfg.Devices[i]
		link := filepath.Join(dir, dev.Name)
		switch dev.Kind {
		case devices.KindScanner:
			s, err := sim.NewScanner(link, sim.ScannerFraming{Suffix: "\r"})
			if err != nil {
				d.close()
				return nil, err
			}
			d.scanner = s
		case devices.KindScale:
			p, err := sim.OpenPort(link)
			if err != nil {
				d.close()
				return nil, err
			}
			sc, err := sim.NewScale(p, dev.Protocol, sim.ScaleOptions{})
			if err != nil {
				p.Close()
				d.close()
				return nil, err
			}
			d.scale = sc
		}
		dev.Port = link
	}
	if d.scanner == nil || d.scale == nil {
		d.close()
		return nil, fmt.Errorf("demo config needs one scanner and one scale")
	}
	return d, nil
}

func (d *demoDevices) close() {
	if d.scanner != nil {
		d.scanner.Close()
	}
	if d.scale != nil {
		d.scale.Port().Close()
	}
}

// run serves the scale and, every `every`, plays an operator's receiving session on the
// scanner: badge, mode, reference, products, a case, a batch of screws counted by weight,
// validate, badge (log out). It stops when ctx is done.
func (d *demoDevices) run(ctx context.Context, every time.Duration) error {
	scaleDone := make(chan error, 1)
	go func() { scaleDone <- d.scale.Run(ctx) }()
	// The driver writes beep codes to the scanner; read them, as a scanner would, so the
	// pty buffer never fills and blocks the driver.
	beepsDone := make(chan struct{})
	go func() {
		defer close(beepsDone)
		buf := make([]byte, 64)
		for {
			if _, err := d.scanner.Read(buf); err != nil {
				return
			}
		}
	}()
	defer func() {
		d.close()
		<-scaleDone
		<-beepsDone
	}()
	if every <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := d.session(ctx, n); err != nil && ctx.Err() == nil {
			d.log.Warn("demo scan session", "err", err)
		}
	}
}

func (d *demoDevices) session(ctx context.Context, n int) error {
	d.scale.SetLoad(decimal.Zero)
	steps := []string{"OP:alice", "CMD:RECEIVE", fmt.Sprintf("REF:PO-DEMO-%d", n), "4006381333931", "4006381333931", "14006381333938"}
	for _, s := range steps {
		if err := d.scan(ctx, s); err != nil {
			return err
		}
	}
	// 100 screws of 4.2 g on the scale, then the screw barcode: counted by weight.
	d.scale.SetLoad(decimal.RequireFromString("0.420"))
	if err := sleepCtx(ctx, 1500*time.Millisecond); err != nil {
		return err
	}
	// Validate, then the badge again: the operator logs out until the next session.
	for _, s := range []string{"SKU-SCREW-M4", "CMD:VALIDATE", "OP:alice"} {
		if err := d.scan(ctx, s); err != nil {
			return err
		}
	}
	d.scale.SetLoad(decimal.Zero)
	return nil
}

func (d *demoDevices) scan(ctx context.Context, data string) error {
	if err := d.scanner.Scan("", data); err != nil {
		return err
	}
	return sleepCtx(ctx, 400*time.Millisecond)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
