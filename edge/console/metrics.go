package console

import (
	"bytes"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// setupMetrics builds a registry of this server's own (not the process-global one, so that
// tests can run several servers): gauges are read from the journal and the sources at
// scrape time by a collector, so nothing has to push them.
func (s *Server) setupMetrics() {
	s.reg = prometheus.NewRegistry()
	s.httpReqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "depotd_http_requests_total", Help: "HTTP requests answered by the console and API, by status code class.",
	}, []string{"code"})
	s.reg.MustRegister(s.httpReqs, &collector{s: s})
}

var (
	descBacklog   = prometheus.NewDesc("depotd_backlog", "Transactions committed but not yet acknowledged by the ERP.", nil, nil)
	descOldest    = prometheus.NewDesc("depotd_oldest_pending_seconds", "Age of the oldest transaction the ERP has not acknowledged.", nil, nil)
	descLastSeq   = prometheus.NewDesc("depotd_last_seq", "Last committed journal seq.", nil, nil)
	descAckedSeq  = prometheus.NewDesc("depotd_acked_seq", "The ERP's ack watermark.", nil, nil)
	descCommits   = prometheus.NewDesc("depotd_journal_commits_total", "Durable group commits (write-ahead log writes) since start; several transactions may share one.", nil, nil)
	descCkpts     = prometheus.NewDesc("depotd_journal_checkpoints_total", "Checkpoints of the write-ahead log into the database file since start.", nil, nil)
	descTxs       = prometheus.NewDesc("depotd_transactions_committed_total", "Transactions committed since start.", nil, nil)
	descDrain     = prometheus.NewDesc("depotd_drain_rate", "Transactions acknowledged by the ERP per second, over the last 5 minutes.", nil, nil)
	descExc       = prometheus.NewDesc("depotd_open_exceptions", "Exceptions waiting for a supervisor.", nil, nil)
	descUplink    = prometheus.NewDesc("depotd_uplink_online", "1 when the MQTT uplink is connected.", nil, nil)
	descDevice    = prometheus.NewDesc("depotd_device_state", "1 for each device's current state.", []string{"device", "kind", "state"}, nil)
	descFrameErrs = prometheus.NewDesc("depotd_device_frame_errors_total", "What each device sent and its driver refused since start: bad scans, corrupted scale frames, line noise.", []string{"device", "kind"}, nil)
	descScans     = prometheus.NewDesc("depotd_scans_total", "Scans seen by stations since start, by result.", []string{"result"}, nil)
	descStartTime = prometheus.NewDesc("depotd_start_time_seconds", "When this depotd started (Unix time).", nil, nil)
)

type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if st, err := s.j.Status(); err == nil {
		gauge(descBacklog, float64(st.Backlog))
		gauge(descOldest, st.OldestPendingS)
		gauge(descLastSeq, float64(st.LastSeq))
		gauge(descAckedSeq, float64(st.AckedSeq))
		gauge(descExc, float64(st.OpenExceptions))
	} else {
		s.log.Warn("metrics: journal status", "err", err)
	}
	commits, txs := s.j.Stats()
	counter(descCommits, float64(commits))
	counter(descCkpts, float64(s.j.Checkpoints()))
	counter(descTxs, float64(txs))
	gauge(descDrain, s.hist.drainRate())
	gauge(descStartTime, float64(s.opts.Started.Unix()))
	if s.opts.Uplink != nil {
		v := 0.0
		if s.opts.Uplink.UplinkStatus().Online {
			v = 1
		}
		gauge(descUplink, v)
	}
	if _, list := s.deviceViews(); list != nil {
		for _, d := range list {
			gauge(descDevice, 1, d.Name, d.Kind, d.State)
			counter(descFrameErrs, float64(d.FrameErrors), d.Name, d.Kind)
		}
	}
	s.collectSync(gauge)
	if sc, ok := s.opts.Stations.(ScanCounter); ok {
		for res, n := range sc.ScanCounts() {
			counter(descScans, float64(n), res)
		}
	}
}

// metrics answers in the Prometheus text format. It never redirects: without
// metrics_public it needs a valid API bearer token and answers 401 otherwise.
func (s *Server) metrics(c *fiber.Ctx) error {
	if !s.cfg.metricsPublic() && s.bearerRole(c) == "" {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="depotd"`)
		return c.Status(fiber.StatusUnauthorized).SendString("401 unauthorized: /metrics needs an API bearer token (console.metrics_public is false)\n")
	}
	mfs, err := s.reg.Gather()
	if err != nil {
		s.log.Warn("metrics gather", "err", err)
	}
	var buf bytes.Buffer
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	c.Set(fiber.HeaderContentType, string(format))
	return c.Send(buf.Bytes())
}

// accessLog logs every request with slog, after it was answered. Query strings are left
// out: they may carry search terms, never needed to diagnose, and nothing secret goes there.
func (s *Server) accessLog(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	code := c.Response().StatusCode()
	s.httpReqs.WithLabelValues(strconv.Itoa(code/100) + "xx").Inc()
	user := ""
	if u, ok := c.Locals(localUser).(*sessionUser); ok {
		user = u.Name
	}
	s.log.Info("http", "method", c.Method(), "path", c.Path(), "status", code,
		"dur_ms", float64(time.Since(start).Microseconds())/1000, "ip", c.IP(), "user", user)
	return nil
}
