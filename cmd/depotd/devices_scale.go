package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
)

// scaleProbeResult is what `depotd devices probe --kind scale` prints: the weight as the
// scale sent it (all its digits) in its unit, and the same weight in kg, exact.
type scaleProbeResult struct {
	Weight string `json:"weight"`
	Unit   string `json:"unit"`
	Stable bool   `json:"stable"`
	Kg     string `json:"kg"`
	Net    bool   `json:"net"`
}

// probeScale reads one stable weight from a scale and prints it as JSON. Exit codes: 0
// with the weight, 1 when no stable weight could be read (the reason on stderr), 2 for
// usage errors.
func probeScale(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd devices probe --kind scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c devices.Config
	kind := fs.String("kind", "scale", "scale")
	fs.StringVar(&c.Protocol, "protocol", "", "scale protocol: "+strings.Join(scale.Protocols(), ", "))
	fs.StringVar(&c.Port, "port", "", "serial port or hidraw node: /dev/serial/by-id/..., /dev/hidrawN")
	fs.IntVar(&c.Baud, "baud", 0, "baud rate (default: the protocol's, 9600)")
	fs.IntVar(&c.DataBits, "data-bits", 0, "7 or 8 (default: the protocol's: 8 for mt-sics, 7 for the others)")
	fs.StringVar(&c.Parity, "parity", "", "none, even or odd (default: the protocol's: none for mt-sics, even for the others)")
	fs.IntVar(&c.StopBits, "stop-bits", 0, "1 or 2 (default 1)")
	fs.StringVar(&c.Unit, "unit", "", "g, kg, lb or oz: the unit of a toledo-8217 scale, whose replies carry none (default kg)")
	fs.StringVar(&c.Checksum, "checksum", "", "toledo-continuous: auto, on or off, as the indicator is set (default auto)")
	fs.IntVar(&c.StableFrames, "stable-frames", 0, "identical stable frames in a row before a weight is stable (default 3 for toledo-continuous, 1 for the others)")
	fs.DurationVar(&c.Timeout, "silence", 0, "the scale is taken as not answering after this long without a valid reply (default 2s)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up when no stable weight has come within this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *kind != string(devices.KindScale) {
		fmt.Fprint(stderr, "usage: depotd devices probe --kind scale --protocol PROTO --port PATH [--baud N --data-bits N --parity P --stop-bits N] [--unit U] [--checksum auto|on|off] [--stable-frames N] [--timeout 10s]\n")
		return 2
	}
	c.Name, c.Kind = "probe", devices.KindScale
	var problems []string
	// Named as the flags that set them: "--port: required", not a config key.
	flagged := func(key, msg string) {
		problems = append(problems, "--"+strings.ReplaceAll(strings.TrimPrefix(key, "scale."), "_", "-")+": "+msg)
	}
	c.Check("scale", flagged)
	scale.CheckConfig(&c, "scale", flagged)
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "depotd devices probe:", strings.Join(problems, "; "))
		return 1
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	w, err := scale.ReadStable(ctx, c, log)
	if err != nil {
		if errors.Is(err, scale.ErrNoStable) {
			err = fmt.Errorf("within %s: %w", *timeout, err)
		}
		fmt.Fprintln(stderr, "depotd devices probe:", err)
		return 1
	}
	out := scaleProbeResult{Weight: asSent(w), Unit: w.Unit, Stable: w.Stable, Kg: w.Kg.String(), Net: w.Net}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		fmt.Fprintln(stderr, "depotd devices probe:", err)
		return 1
	}
	return 0
}

// asSent prints a weight with the decimals the scale sent ("100.00", not "100").
func asSent(w devices.Weight) string {
	if e := w.Value.Exponent(); e < 0 {
		return w.Value.StringFixed(-e)
	}
	return w.Value.String()
}
