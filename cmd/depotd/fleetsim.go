package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/fleetsim"
)

// fleetSimCmd is `depotd fleet sim`: a fleet of simulated depots in this process (package
// uplink/fleetsim), optionally with the ERP simulator, printing a progress line and a final
// report. Exit 1 when anything was lost.
func fleetSimCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleet sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	depots := fs.Int("depots", 10, "simulated depots, each with its own journal and uplink")
	rate := fs.Float64("rate", 1, "transactions a second per depot")
	duration := fs.Duration("duration", time.Minute, "how long the depots post")
	drain := fs.Duration("drain", time.Minute, "how long to wait afterwards for the last acks")
	brokers := fs.String("broker", "", "broker URLs, comma separated (a cluster's nodes: depots are spread over them); required")
	keepalive := fs.Duration("keepalive", 0, "the depots' uplink.keepalive (default that of the uplink)")
	resendAfter := fs.Duration("resend-after", 0, "the depots' uplink.resend_after (default that of the uplink)")
	ramp := fs.Duration("ramp", 0, "start the depots' uplinks evenly over this period rather than all at once (a fleet back after a broker restart)")
	subscribeTimeout := fs.Duration("subscribe-timeout", 0, "the depots' uplink.subscribe_timeout (default that of the uplink)")
	outageEvery := fs.Duration("outage-every", 0, "stop each depot's uplink once in every period (spread over the fleet); 0: no outages")
	outageFor := fs.Duration("outage-for", 10*time.Second, "how long each outage lasts")
	withERP := fs.Bool("erpsim", false, "also run the ERP simulator in this process (otherwise a connector must serve the broker)")
	dir := fs.String("dir", "", "data directory for the journals (must be empty; default a temporary one, removed afterwards)")
	prefix := fs.String("id-prefix", "SIM", "depot ids are PREFIX0001, PREFIX0002...")
	progress := fs.Duration("progress", 5*time.Second, "progress line interval")
	verbose := fs.Bool("v", false, "log the depots' uplink events to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: depotd fleet sim --broker URL[,URL...] [--depots 10] [--rate 1] [--duration 1m] [--ramp 30s] [--erpsim] [--outage-every 1m --outage-for 10s]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "depotd fleet sim: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *brokers == "" {
		fmt.Fprintln(stderr, "depotd fleet sim: --broker is required")
		return 2
	}
	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	data := *dir
	if data == "" {
		tmp, err := os.MkdirTemp("", "depotd-fleet-sim-")
		if err != nil {
			fmt.Fprintln(stderr, "depotd fleet sim:", err)
			return 1
		}
		defer os.RemoveAll(tmp)
		data = tmp
	}
	cfg := fleetsim.Config{
		Depots: *depots, Rate: *rate, Duration: *duration, Drain: *drain, Dir: data, IDPrefix: *prefix, Ramp: *ramp,
		Uplink:      uplink.Config{Brokers: strings.Split(*brokers, ","), KeepAlive: *keepalive, ResendAfter: *resendAfter, SubscribeTimeout: *subscribeTimeout},
		OutageEvery: *outageEvery, OutageFor: *outageFor, ProgressEvery: *progress, Log: log,
		Progress: func(p fleetsim.Progress) { fmt.Fprintln(stdout, p) },
	}
	if *outageEvery == 0 {
		cfg.OutageFor = 0
	}
	var wg sync.WaitGroup
	if *withERP {
		sim := &erpsim.Sim{Broker: cfg.Uplink.Brokers[0], Log: log.With("component", "erpsim")}
		simCtx, stopSim := context.WithCancel(context.WithoutCancel(ctx))
		wg.Add(1)
		go func() { defer wg.Done(); sim.Run(simCtx) }()
		defer func() { stopSim(); wg.Wait() }()
		cfg.ERP = func(id string) (uint64, uint64) {
			st := sim.Stats(id)
			return st.Applied, st.Duplicates
		}
	}
	rep, err := fleetsim.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "depotd fleet sim:", err)
		return 2
	}
	fmt.Fprint(stdout, rep)
	if err := rep.Check(); err != nil {
		fmt.Fprintln(stderr, "depotd fleet sim:", err)
		return 1
	}
	return 0
}
