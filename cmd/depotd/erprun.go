package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sync/errgroup"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/odoo"
)

// erpRunCmd is `depotd erp [run] --config PATH`: the long-running connector. Exit 0 after
// SIGTERM/SIGINT (the context), 1 when it cannot start (a bad config, Odoo unreachable or
// not set up), 2 on bad flags.
func erpRunCmd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd erp run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/erp.yaml", "erp.yaml")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "depotd erp run: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, err := newLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintln(stderr, "depotd erp run:", err)
		return 2
	}
	cfg, ok := loadERPConfigReport(*path, stderr)
	if !ok {
		return 1
	}
	elog := log.With("component", "erp")
	svc := &odoo.Service{MQTT: cfg.MQTT, Odoo: cfg.Odoo, Depots: cfg.Depots, Log: elog,
		Downlink: cfg.Downlink, HTTP: cfg.HTTP, StateDir: cfg.StateDir, Ownership: cfg.Ownership,
		// Under systemd (Type=notify, depotd-erp.service): ready once Odoo answered and
		// knows every depot; a no-op elsewhere.
		Started: func(*erpcore.Core) { sdNotify(elog, sddaemon.SdNotifyReady) }}
	g, gctx := errgroup.WithContext(ctx)
	if cfg.Fleet != nil {
		page, err := newERPFleet(cfg, log.With("component", "fleetweb"))
		if err != nil {
			fmt.Fprintln(stderr, "depotd erp run: cannot start: fleet page:", err)
			return 1
		}
		g.Go(func() error { return page.Run(gctx) })
	}
	g.Go(func() error { return svc.Run(gctx) })
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return 0 // stopped while starting
		}
		var se *odoo.SetupError
		if errors.As(err, &se) {
			fmt.Fprintln(stderr, "depotd erp run: cannot start:", se.Msg)
		} else {
			fmt.Fprintln(stderr, "depotd erp run: cannot start:", err)
		}
		return 1
	}
	return 0
}
