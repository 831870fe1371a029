package odoo

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
)

// Service is the long-running connector (`depotd erp --config erp.yaml`): the consumer
// core (uplink/erpcore) on the MQTT side, an Applier posting into Odoo on the other.
type Service struct {
	MQTT   uplink.ClientConfig // defaults applied, checked
	Odoo   Config              // defaults applied, checked
	Depots []Depot
	// Downlink: master data and stock snapshots (defaults applied when zero).
	Downlink DownlinkConfig
	// HTTP is where /healthz and /metrics are served; "" or "off": nowhere.
	HTTP HTTPConfig
	// StateDir keeps the versions of master data published (so that a restart publishes
	// nothing unchanged) and spools the depots' approved proposals until Odoo has them;
	// "" keeps both in memory.
	StateDir string
	// Ownership: how often the depots' claims are renewed and how long one holds (zero:
	// erpcore's defaults, 10s and 30s).
	Ownership erpcore.OwnershipConfig
	Log       *slog.Logger

	// Client replaces the one Odoo.Client() would make (tests).
	Client *Client
	// Tune, when set, adjusts the core's configuration before it starts (tests).
	Tune func(*erpcore.Config)
	// Started, when set, is called with the core once the checks passed (tests read its
	// Stats).
	Started func(*erpcore.Core)
	// Listening, when set, is told the HTTP address once it listens (tests bind port 0).
	Listening func(addr string)
	// DownlinkStarted, when set, is given the downlink (tests read its Stats).
	DownlinkStarted func(*Downlink)
}

// StartError is a reason the service refused to start: Odoo unreachable or not set up,
// a bad TLS file. Nothing was consumed.
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run checks that Odoo answers (its version, 19.x) and knows every depot (the applied
// seq setup makes), then consumes until ctx ends. It returns nil after a clean stop
// (every goroutine ended; a posting in flight was given up to 30s to finish and be
// acknowledged, or cancelled, its outcome then kept by Odoo's key for the next run) and a
// *StartError when it could not start.
func (s *Service) Run(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := s.Client
	if c == nil {
		var err error
		if c, err = s.Odoo.Client(); err != nil {
			return &StartError{err}
		}
	}
	var ln net.Listener
	if s.HTTP.Listen != "" && s.HTTP.Listen != "off" {
		var err error
		if ln, err = net.Listen("tcp", s.HTTP.Listen); err != nil {
			return &StartError{fmt.Errorf("http.listen: %w", err)}
		}
		defer ln.Close()
	}
	ids := make([]string, 0, len(s.Depots))
	for _, d := range s.Depots {
		ids = append(ids, d.ID)
	}
	down := newDownlink(nil, s.Downlink, s.Depots, s.StateDir, log.With("part", "downlink"))
	if err := down.load(); err != nil {
		return &StartError{fmt.Errorf("state_dir: %w", err)}
	}
	mon := newMonitor(ids, down)
	c = c.WithObserver(mon.observe)
	down.c = c
	props := newProposals(c, s.Depots, s.StateDir, log.With("part", "proposals"))
	mon.props = props
	if err := props.load(); err != nil {
		return &StartError{fmt.Errorf("state_dir: %w", err)}
	}
	start := time.Now()
	v, err := c.Version(ctx)
	if err != nil {
		return &StartError{fmt.Errorf("odoo at %s is not reachable: %w", s.Odoo.URL, err)}
	}
	if err := CheckVersion(v); err != nil {
		return &StartError{fmt.Errorf("odoo at %s: %w", s.Odoo.URL, err)}
	}
	a := NewApplier(c, s.Odoo.PostTimeout, s.Depots)
	for _, d := range s.Depots {
		seq, err := a.AppliedSeq(ctx, d.ID)
		if err != nil {
			return &StartError{err}
		}
		log.Info("erp depot known to odoo", "depot", d.ID, "warehouse", d.Warehouse, "applied_seq", seq)
	}
	log.Info("erp odoo reachable", "url", s.Odoo.URL, "database", c.Database(), "version", v.Text,
		"depots", len(ids), "took", time.Since(start).Round(time.Millisecond))
	mc := s.MQTT.Config()
	tlsCfg, err := uplink.ClientTLS(mc)
	if err != nil {
		return &StartError{fmt.Errorf("mqtt.tls: %w", err)}
	}
	cfg := erpcore.Config{
		Brokers: s.MQTT.Brokers, ClientID: s.MQTT.ClientID, Username: s.MQTT.Username, Password: s.MQTT.Password,
		TLS: tlsCfg, KeepAlive: s.MQTT.KeepAlive, TopicPrefix: s.MQTT.TopicPrefix, Depots: ids,
		Applier: a, MaxBatch: s.Odoo.Batch, Retryable: Retryable, RetryMax: s.Odoo.RetryMax, Log: log,
		// SIGTERM lets a posting in flight finish and be acknowledged (well within
		// systemd's default 90s stop timeout); one still running then is cancelled, and
		// the next run finds its key if Odoo committed it.
		DrainTimeout: min(s.Odoo.PostTimeout, 30*time.Second),
		Between:      down.Between, Request: down.Request, Proposal: props.Receive,
		ClaimEvery: s.Ownership.Renew, Lease: s.Ownership.Lease,
	}
	if s.Tune != nil {
		s.Tune(&cfg)
	}
	core, err := erpcore.New(cfg)
	if err != nil {
		return &StartError{err}
	}
	down.pub = core
	mon.core = func() *erpcore.Core { return core }
	if s.Started != nil {
		s.Started(core)
	}
	if s.DownlinkStarted != nil {
		s.DownlinkStarted(down)
	}
	// All stop when ctx ends: the consumer after its posting in flight (DrainTimeout), the
	// downlink's poll and the HTTP server at once. A failing HTTP server stops them too.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return core.Run(gctx) })
	g.Go(func() error { return down.Run(gctx) })
	g.Go(func() error { return props.Run(gctx) })
	if ln != nil {
		if s.Listening != nil {
			s.Listening(ln.Addr().String())
		}
		g.Go(func() error { return mon.serve(gctx, ln, log) })
	}
	return g.Wait()
}
