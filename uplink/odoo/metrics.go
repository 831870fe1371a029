package odoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/depotd/depotd/uplink/erpcore"
)

// DefaultListen is HTTPConfig.Listen's default: loopback, as the Prometheus agent runs
// beside the connector.
const DefaultListen = "127.0.0.1:9465"

// HTTPConfig is erp.yaml's `http:` section: where /healthz and /metrics are served.
type HTTPConfig struct {
	// Listen is host:port; "off" serves nothing. Default 127.0.0.1:9465.
	Listen string `yaml:"listen"`
}

// ApplyDefaults fills the zero value documented on HTTPConfig.
func (c *HTTPConfig) ApplyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
}

// Check reports a listen address that is not host:port.
func (c *HTTPConfig) Check(path string, report func(key, msg string)) {
	if c.Listen == "off" {
		return
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		report(path+".listen", fmt.Sprintf("%q: want host:port (e.g. 127.0.0.1:9465, :9465) or off", c.Listen))
	}
}

// errorKinds name the kinds of errors.go in metrics.
var errorKinds = []struct {
	err  error
	name string
}{
	{ErrUnauthorized, "unauthorized"}, {ErrForbidden, "forbidden"}, {ErrNotFound, "not_found"},
	{ErrRefused, "refused"}, {ErrConflict, "conflict"}, {ErrServer, "server"},
	{ErrUnavailable, "unavailable"}, {ErrProtocol, "protocol"},
}

func errorKind(err error) string {
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "other"
}

// monitor is what /healthz and /metrics report: the consumer's counters per depot, the
// downlink's, and every Odoo call (observed on the client).
type monitor struct {
	depots []string
	core   func() *erpcore.Core // nil until started
	down   *Downlink
	props  *proposals // nil until made
	reg    *prometheus.Registry
	calls  *prometheus.HistogramVec
	errs   *prometheus.CounterVec

	mu      sync.Mutex
	lastErr error // the last Odoo call's error; nil after a success
	lastAt  time.Time
}

var (
	descApplied   = prometheus.NewDesc("depotd_erp_applied_seq", "The depot's applied seq: every seq up to it was posted to Odoo or rejected.", []string{"depot"}, nil)
	descHighest   = prometheus.NewDesc("depotd_erp_received_seq", "The highest seq received from the depot.", []string{"depot"}, nil)
	descLagSeqs   = prometheus.NewDesc("depotd_erp_lag_seqs", "Seqs received from the depot and not processed yet.", []string{"depot"}, nil)
	descLagSecs   = prometheus.NewDesc("depotd_erp_lag_seconds", "How long the oldest received and unprocessed seq of the depot has waited (0 when none waits).", []string{"depot"}, nil)
	descRejected  = prometheus.NewDesc("depotd_erp_rejected_total", "Transactions Odoo refused for the data's fault (acknowledged as rejected) since start.", []string{"depot"}, nil)
	descApplyErrs = prometheus.NewDesc("depotd_erp_apply_errors_total", "Failed postings (each retried, never acknowledged) since start.", []string{"depot"}, nil)
	descMalformed = prometheus.NewDesc("depotd_erp_malformed_total", "Poison tx messages dropped since start.", []string{"depot"}, nil)
	descDups      = prometheus.NewDesc("depotd_erp_duplicates_total", "tx messages at or below the applied seq (redeliveries, resends) since start.", []string{"depot"}, nil)
	descSnaps     = prometheus.NewDesc("depotd_erp_snapshots_total", "Stock snapshots published since start.", []string{"depot"}, nil)
	descSnapErrs  = prometheus.NewDesc("depotd_erp_snapshot_errors_total", "Stock snapshots that failed (retried) since start.", []string{"depot"}, nil)
	descSnapSeq   = prometheus.NewDesc("depotd_erp_snapshot_applied_seq", "applied_seq of the depot's last published stock snapshot.", []string{"depot"}, nil)
	descMasters   = prometheus.NewDesc("depotd_erp_master_published_total", "Master data payloads published since start, by kind.", []string{"depot", "kind"}, nil)
	descPropsIn   = prometheus.NewDesc("depotd_erp_proposals_received_total", "Approved replenishment proposals received from the depot and spooled since start.", []string{"depot"}, nil)
	descProps     = prometheus.NewDesc("depotd_erp_proposals_total", "Proposals Odoo answered since start, by result: created (a transfer requested), covered (an open transfer already brings the item), duplicate (its key existed), refused (the data's fault, logged).", []string{"depot", "result"}, nil)
)

func newMonitor(depots []string, down *Downlink) *monitor {
	m := &monitor{depots: depots, down: down, reg: prometheus.NewRegistry()}
	m.calls = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "depotd_erp_odoo_call_seconds", Help: "Odoo JSON-2 calls by model/method, failed ones included.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
	}, []string{"op"})
	m.errs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "depotd_erp_odoo_errors_total", Help: "Failed Odoo calls by kind (unavailable, server, conflict, refused, unauthorized, forbidden, not_found, protocol).",
	}, []string{"kind"})
	m.reg.MustRegister(m.calls, m.errs, m)
	return m
}

// observe is the client's observer.
func (m *monitor) observe(op string, took time.Duration, err error) {
	m.calls.WithLabelValues(op).Observe(took.Seconds())
	if err != nil {
		m.errs.WithLabelValues(errorKind(err)).Inc()
	}
	m.mu.Lock()
	m.lastErr, m.lastAt = err, time.Now()
	m.mu.Unlock()
}

func (m *monitor) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

func (m *monitor) Collect(ch chan<- prometheus.Metric) {
	var core *erpcore.Core
	if m.core != nil {
		core = m.core()
	}
	now := time.Now()
	for _, id := range m.depots {
		g := func(d *prometheus.Desc, v float64, l ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{id}, l...)...)
		}
		c := func(d *prometheus.Desc, v float64, l ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{id}, l...)...)
		}
		if core != nil {
			st := core.Stats(id)
			g(descApplied, float64(st.Applied))
			g(descHighest, float64(st.Highest))
			g(descLagSeqs, float64(st.Highest-min(st.Highest, st.Applied)))
			lag := 0.0
			if !st.Waiting.IsZero() {
				lag = now.Sub(st.Waiting).Seconds()
			}
			g(descLagSecs, lag)
			c(descRejected, float64(st.Rejected))
			c(descApplyErrs, float64(st.Errors))
			c(descMalformed, float64(st.Malformed))
			c(descDups, float64(st.Duplicates))
		}
		ds := m.down.Stats(id)
		c(descSnaps, float64(ds.Snapshots))
		c(descSnapErrs, float64(ds.SnapshotErrors))
		g(descSnapSeq, float64(ds.SnapshotSeq))
		kinds := make([]string, 0, len(ds.Published))
		for k := range ds.Published {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		for _, k := range kinds {
			c(descMasters, float64(ds.Published[k]), k)
		}
		if m.props != nil {
			received, answered := m.props.stats(id)
			c(descPropsIn, float64(received))
			for _, o := range proposalOutcomes {
				c(descProps, float64(answered[o]), o)
			}
		}
	}
}

// health is /healthz's answer.
type health struct {
	OK        bool          `json:"ok"`
	MQTT      bool          `json:"mqtt_online"`
	Odoo      bool          `json:"odoo_ok"`
	OdooError string        `json:"odoo_error,omitempty"`
	Depots    []depotHealth `json:"depots"`
}

type depotHealth struct {
	Depot      string  `json:"depot"`
	AppliedSeq uint64  `json:"applied_seq"`
	LagSeqs    uint64  `json:"lag_seqs"`
	LagSeconds float64 `json:"lag_seconds"`
}

// healthz answers 200 when the broker is connected and Odoo's last call got an answer
// that was not a server error, 503 otherwise (a refusal of one transaction's data is not
// the connector's health).
func (m *monitor) healthz(w http.ResponseWriter, _ *http.Request) {
	var core *erpcore.Core
	if m.core != nil {
		core = m.core()
	}
	m.mu.Lock()
	lastErr := m.lastErr
	m.mu.Unlock()
	h := health{MQTT: core != nil && core.Online(), Odoo: lastErr == nil || !Retryable(lastErr) || errors.Is(lastErr, ErrConflict)}
	if !h.Odoo {
		h.OdooError = errorKind(lastErr)
	}
	now := time.Now()
	for _, id := range m.depots {
		dh := depotHealth{Depot: id}
		if core != nil {
			st := core.Stats(id)
			dh.AppliedSeq, dh.LagSeqs = st.Applied, st.Highest-min(st.Highest, st.Applied)
			if !st.Waiting.IsZero() {
				dh.LagSeconds = now.Sub(st.Waiting).Seconds()
			}
		}
		h.Depots = append(h.Depots, dh)
	}
	h.OK = h.MQTT && h.Odoo
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if !h.OK {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}

// serve answers /healthz and /metrics on ln until ctx ends, then shuts down (bounded).
func (m *monitor) serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogErrorLog{log}}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("erp http listening", "addr", ln.Addr().String(), "paths", "/healthz /metrics")
	select {
	case err := <-done:
		return fmt.Errorf("http %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-done
	return nil
}

type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) { l.log.Warn("erp metrics", "err", fmt.Sprint(v...)) }
