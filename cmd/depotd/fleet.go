package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/edge/console"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/fleetweb"
)

func init() {
	register("fleet", "central ops: live table of every depot's uplink status (online, backlog, oldest pending); fleet sim: a simulated fleet",
		func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return fleetCmd(ctx, args, stdout, stderr)
		})
}

// fleetCmd subscribes to {prefix}+/status and shows one line per depot: redrawn in place
// on a terminal, one line per change otherwise, or JSON lines with --json.
func fleetCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "sim" {
		return fleetSimCmd(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "", "broker URL (tcp://, ssl://, tls://, mqtts://, ws://, wss://); required")
	prefix := fs.String("prefix", "depots/", "topic prefix above the depot id")
	asJSON := fs.Bool("json", false, "print each change as a JSON line")
	username := fs.String("username", "", "MQTT username")
	password := fs.String("password", os.Getenv("DEPOTD_FLEET_PASSWORD"), "MQTT password (default $DEPOTD_FLEET_PASSWORD)")
	caFile := fs.String("ca-file", "", "CA certificate (PEM) that signed the broker's certificate")
	connectTimeout := fs.Duration("connect-timeout", 20*time.Second, "give up (exit 1) if the broker cannot be reached for this long at start")
	statusInterval := fs.Duration("status-interval", uplink.DefaultStatusInterval, "status interval assumed for depots whose status does not say theirs; silence for 3× it counts as offline")
	configPath := fs.String("config", "", "fleet.yaml: the web page's users and settings (firmware-config/fleet.yaml); needed by --listen")
	listen := fs.String("listen", "", "serve the fleet web page on this address (default: listen in --config)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: depotd fleet --broker URL [--prefix depots/] [--json] [--connect-timeout 20s] [--status-interval 60s]")
		fmt.Fprintln(stderr, "       depotd fleet --broker URL --config fleet.yaml [--listen ADDR]   (the fleet web page)")
		fmt.Fprintln(stderr, "       depotd fleet sim -h   (a simulated fleet, to measure a broker and connector)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "depotd fleet: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	cfg := uplink.Config{Brokers: []string{*broker}, TopicPrefix: *prefix, TLS: uplink.TLSConfig{CAFile: *caFile}}
	var problems []string
	if *broker == "" {
		problems = append(problems, "--broker is required")
	} else {
		cfg.Check("fleet", func(key, msg string) {
			key = strings.NewReplacer("fleet.brokers[0]", "--broker", "fleet.topic_prefix", "--prefix", "fleet.tls.ca_file", "--ca-file").Replace(key)
			problems = append(problems, key+": "+msg)
		})
	}
	if *connectTimeout <= 0 {
		problems = append(problems, "--connect-timeout: must be positive")
	}
	if *statusInterval <= 0 {
		problems = append(problems, "--status-interval: must be positive")
	}
	var webCfg *fleetweb.Config
	if *configPath != "" {
		c, err := loadFleetConfig(*configPath)
		if err != nil {
			fmt.Fprintf(stderr, "depotd fleet: %s: %v\n", *configPath, err)
			return 2
		}
		webCfg = c
		if *listen != "" {
			webCfg.Listen = *listen
		}
	} else if *listen != "" {
		problems = append(problems, "--listen: needs --config fleet.yaml (the page's users and their password hashes)")
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "depotd fleet:", p)
		}
		return 2
	}

	fleet := uplink.NewFleet(*prefix)
	fleet.SetStatusInterval(*statusInterval)
	update := func(m mqtt.Message) (uplink.FleetRow, bool, error) {
		return fleet.UpdateMessage(m.Topic(), m.Payload(), m.Retained(), time.Now())
	}
	out := &fleetPrinter{w: stdout, json: *asJSON, tty: isTerminal(stdout), fleet: fleet, seen: map[string]bool{}}
	var web *fleetweb.Server
	var ln net.Listener
	if webCfg != nil {
		if webCfg.StatusInterval > 0 && *statusInterval == uplink.DefaultStatusInterval {
			fleet.SetStatusInterval(webCfg.StatusInterval)
		}
		var err error
		web, err = fleetweb.New(fleetweb.Options{Fleet: fleet, Users: webCfg.Users, Verify: console.VerifyPassword,
			SessionTTL: webCfg.SessionTTL, Secure: webCfg.SecureCookies,
			Log: slog.New(slog.NewTextHandler(stderr, nil)).With("component", "fleetweb")})
		if err != nil {
			fmt.Fprintln(stderr, "depotd fleet:", err)
			return 2
		}
		if ln, err = net.Listen("tcp", webCfg.Listen); err != nil {
			fmt.Fprintf(stderr, "depotd fleet: listen %s: %v\n", webCfg.Listen, err)
			return 1
		}
		update = func(m mqtt.Message) (uplink.FleetRow, bool, error) {
			return web.Update(m.Topic(), m.Payload(), m.Retained())
		}
		// A service's log is no place for a table line per status: the page shows them.
		out.quiet = !out.tty && !out.json
	}
	opts := mqtt.NewClientOptions().AddBroker(*broker).
		SetClientID(fmt.Sprintf("depotd-fleet-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)).
		SetUsername(*username).SetPassword(*password).
		// The first connection is tried here, so that an unreachable broker is said at
		// once and ends the command; after that, paho reconnects by itself.
		SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(false).
		SetConnectTimeout(min(*connectTimeout, 10*time.Second)).SetMaxReconnectInterval(30 * time.Second).
		SetOrderMatters(true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			fmt.Fprintf(stderr, "depotd fleet: connection lost: %v (reconnecting)\n", err)
		})
	if tc, err := uplink.ClientTLS(cfg); err != nil {
		fmt.Fprintln(stderr, "depotd fleet:", err)
		return 2
	} else if tc != nil {
		opts.SetTLSConfig(tc)
	}
	opts.SetOnConnectHandler(func(c mqtt.Client) {
		out.header()
		t := c.Subscribe(fleet.Filter(), 1, func(_ mqtt.Client, m mqtt.Message) {
			row, changed, err := update(m)
			if err != nil {
				fmt.Fprintf(stderr, "depotd fleet: %s: %v\n", m.Topic(), err)
				return
			}
			if changed {
				out.changed(row)
			}
		})
		if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
			fmt.Fprintf(stderr, "depotd fleet: subscribe %s: %v\n", fleet.Filter(), t.Error())
		}
	})
	c := mqtt.NewClient(opts)
	fmt.Fprintf(stderr, "depotd fleet: connecting to %s ...\n", *broker)
	if err := connectFleet(ctx, c, *connectTimeout, func(err error) {
		fmt.Fprintf(stderr, "depotd fleet: cannot connect to %s: %v; retrying for up to %s\n", *broker, err, *connectTimeout)
	}); err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintf(stderr, "depotd fleet: gave up connecting to %s after %s: %v\n", *broker, *connectTimeout, err)
		return 1
	}
	defer c.Disconnect(100)
	fmt.Fprintf(stderr, "depotd fleet: connected to %s; showing the depots' status from %s\n", *broker, fleet.Filter())
	if web != nil {
		ctx, cancel := context.WithCancel(ctx)
		served := make(chan error, 1)
		go func() { served <- web.Serve(ctx, ln) }()
		defer func() {
			cancel()
			if err := <-served; err != nil {
				fmt.Fprintln(stderr, "depotd fleet: web page:", err)
			}
		}()
		fmt.Fprintf(stderr, "depotd fleet: web page on http://%s/\n", ln.Addr())
	}

	// On a terminal the "last seen" column ages, so redraw every second too.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
			switch {
			case out.tty && !out.json:
				out.redraw()
			default:
				out.staleness()
			}
		}
	}
}

// connectFleet tries to connect until it succeeds, ctx ends or timeout has passed, telling
// retrying about the first failure only.
func connectFleet(ctx context.Context, c mqtt.Client, timeout time.Duration, retrying func(error)) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		t := c.Connect()
		err := errors.New("no answer")
		if t.WaitTimeout(max(time.Until(deadline), time.Millisecond)) {
			if err = t.Error(); err == nil {
				return nil
			}
		}
		if last == nil {
			retrying(err)
		}
		last = err
		if !time.Now().Before(deadline) {
			return last
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
	}
}

type fleetPrinter struct {
	mu     sync.Mutex
	w      io.Writer
	json   bool
	tty    bool
	quiet  bool // the web page shows the rows; print nothing
	fleet  *uplink.Fleet
	headed bool
	seen   map[string]bool // depots shown stale; under mu
}

// header starts line output with the table's header, once: a piped table keeps its
// column names.
func (p *fleetPrinter) header() {
	if p.json || p.tty || p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.headed {
		p.headed = true
		fmt.Fprint(p.w, uplink.FormatTable(nil, time.Now()))
	}
}

func (p *fleetPrinter) changed(row uplink.FleetRow) {
	p.mu.Lock()
	delete(p.seen, row.Depot)
	p.mu.Unlock()
	p.print(row)
}

func (p *fleetPrinter) print(row uplink.FleetRow) {
	switch {
	case p.quiet:
	case p.json:
		b, _ := json.Marshal(row)
		p.mu.Lock()
		fmt.Fprintf(p.w, "%s\n", b)
		p.mu.Unlock()
	case p.tty:
		p.redraw()
	default:
		// Not a terminal: one table line per change, greppable in a log.
		lines := strings.Split(strings.TrimRight(uplink.FormatTable([]uplink.FleetRow{row}, time.Now()), "\n"), "\n")
		p.mu.Lock()
		fmt.Fprintln(p.w, lines[len(lines)-1])
		p.mu.Unlock()
	}
}

// staleness prints, in line and JSON output, a depot that went stale (said online, then
// silence for 3× its status interval): no message announces it.
func (p *fleetPrinter) staleness() {
	for _, r := range p.fleet.RowsAt(time.Now()) {
		p.mu.Lock()
		fresh := r.Stale && !p.seen[r.Depot]
		if r.Stale {
			p.seen[r.Depot] = true
		}
		p.mu.Unlock()
		if fresh {
			p.print(r)
		}
	}
}

func (p *fleetPrinter) redraw() {
	table := uplink.FormatTable(p.fleet.RowsAt(time.Now()), time.Now())
	p.mu.Lock()
	defer p.mu.Unlock()
	// Home the cursor and clear the screen, then draw: the table is refreshed in place.
	fmt.Fprint(p.w, "\x1b[H\x1b[2J"+table)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// loadFleetConfig reads fleet.yaml strictly (unknown keys and type errors by key), then
// defaults and checks, every problem at once.
func loadFleetConfig(path string) (*fleetweb.Config, error) {
	return loadConfigFile(path, parseFleetConfig)
}

func parseFleetConfig(r io.Reader) (*fleetweb.Config, error) {
	var probs []Problem
	report := func(key, msg string) { probs = append(probs, Problem{key, msg}) }
	cfg := &fleetweb.Config{}
	empty, err := decodeConfig(r, cfg, report)
	if err != nil {
		return nil, err
	}
	if empty {
		return cfg, &ConfigError{Problems: []Problem{{"", "empty config (see firmware-config/fleet.yaml)"}}}
	}
	if len(probs) == 0 {
		cfg.ApplyDefaults()
		cfg.Check(report)
	}
	if len(probs) > 0 {
		return cfg, &ConfigError{Problems: probs}
	}
	return cfg, nil
}
