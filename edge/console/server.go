package console

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/synchealth"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/prometheus/client_golang/prometheus"
)

// Options carry what the server shows beside the journal. Every source may be nil: its part
// of the console then reads "not configured".
type Options struct {
	Version string
	Logger  *slog.Logger
	Started time.Time
	// Devices, when set, returns the device list for GET /api/v1/devices, as JSON the
	// devices package defines. The dashboard and devices page read the same JSON into
	// DeviceView (by its field names) unless DeviceViews is set.
	Devices func() any
	// DeviceViews, when set, feeds the dashboard and the devices page directly.
	DeviceViews DeviceSource
	// Uplink feeds the dashboard's uplink panel and /metrics.
	Uplink UplinkState
	// Stations feeds GET /api/v1/stations, the dashboard and the station screens (live).
	Stations StationSource
	// Snapshot asks the ERP for a stock snapshot on a supervisor's request (nil: the
	// stock page offers no such button).
	Snapshot SnapshotAsker
	// DemoLink is depotd demo's switch for the depot's link to the broker (nil otherwise):
	// the dashboard offers to cut and restore it.
	DemoLink DemoSwitch
	// TestScan backs the "test scan" box of the devices page.
	TestScan ScanTester
	// Settings is the whole running configuration, shown read-only on the settings page
	// with every secret masked (any key naming a token, password, PIN, hash or secret).
	Settings any
	// StatusExtra, when set, adds fields to GET /api/v1/status.
	StatusExtra func() map[string]any
	// SampleEvery is the backlog chart's sampling period (default 5m; 288 samples = 24 h).
	SampleEvery time.Duration
	// SyncHealth feeds the Sync page, GET /api/v1/sync and the depotd_sync_* gauges
	// (default: a synchealth.Tracker of the server's own over the journal).
	SyncHealth SyncHealthSource
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Server is the HTTP side of depotd: the JSON API, the web console and /metrics.
type Server struct {
	cfg  Config
	j    *edge.Journal
	opts Options
	app  *fiber.App
	log  *slog.Logger
	now  func() time.Time

	store      *session.Store
	csrf       fiber.Handler
	loginLimit fiber.Handler
	guesses    *guessLimiter // invalid bearer tokens per address (auth)
	pages      map[string]*template.Template
	reg        *prometheus.Registry
	httpReqs   *prometheus.CounterVec

	// ctx ends streams (server-sent events) when Serve is told to stop.
	ctx    context.Context
	cancel context.CancelFunc

	hist    *history
	tput    throughputCache
	counts  countCache // counts.go
	sync    SyncHealthSource
	runOnce sync.Once
}

const localRole = "role"

// New builds the server; Serve runs it.
func New(cfg Config, j *edge.Journal, opts Options) *Server {
	cfg.ApplyDefaults()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Started.IsZero() {
		opts.Started = opts.Now()
	}
	if opts.SampleEvery <= 0 {
		opts.SampleEvery = 5 * time.Minute
	}
	s := &Server{cfg: cfg, j: j, opts: opts, log: opts.Logger, now: opts.Now, sync: opts.SyncHealth}
	if s.sync == nil {
		t := synchealth.NewTracker(j)
		t.Now = opts.Now
		s.sync = t
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hist = newHistory(int(24*time.Hour/opts.SampleEvery), opts.SampleEvery)
	s.app = fiber.New(fiber.Config{
		BodyLimit:             cfg.MaxBodyBytes,
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		// No write timeout: server-sent event streams stay open; they end with the
		// client or with Serve.
		IdleTimeout:  2 * time.Minute,
		ErrorHandler: s.errorHandler,
		AppName:      "depotd",
	})
	s.pages = mustParsePages()
	s.setupMetrics()
	s.setupAuth()
	s.routes()
	return s
}

// App exposes the fiber app (tests and benchmarks drive it with App().Test).
func (s *Server) App() *fiber.App { return s.app }

// Serve answers on ln until ctx is done, then shuts down gracefully (bounded). With
// console.tls set it serves HTTPS only, on the same listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("console tls: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	var wg sync.WaitGroup
	sctx, stop := context.WithCancel(ctx)
	defer func() {
		stop()
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.sample(sctx)
	}()
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(ln) }()
	select {
	case err := <-errc:
		s.cancel()
		return fmt.Errorf("console on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
		s.cancel() // end event streams first, or shutdown would wait for them
		if err := s.app.ShutdownWithTimeout(5 * time.Second); err != nil {
			s.log.Warn("console shutdown", "err", err)
		}
		if err := <-errc; err != nil && !errors.Is(err, net.ErrClosed) {
			s.log.Debug("console listener", "err", err)
		}
		return nil
	}
}

func (s *Server) routes() {
	s.app.Use(s.accessLog)
	s.app.Use(s.securityHeaders)
	s.app.Get("/healthz", s.healthz)
	s.app.Get("/metrics", s.metrics)
	s.app.Get("/static/*", s.static)
	s.apiRoutes()
	s.webRoutes()
}
