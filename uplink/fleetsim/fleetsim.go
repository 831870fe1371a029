// Package fleetsim runs a fleet of simulated depots in one process, to measure a broker and
// an ERP connector at fleet scale (`depotd fleet sim`). Each depot is a real one minus its
// devices: its own journal (bbolt file and write-ahead log, edge.Open) and its own uplink
// (uplink.New, its own MQTT connection), so every transaction goes the way a depot's does:
// committed and fsynced, followed by the uplink, published, applied by whatever connector
// serves the broker, acknowledged, and its watermark fsynced.
//
// # Contract
//
//   - The uplinks start first, all at once or, with Ramp, depot i's at i/Depots of Ramp
//     (as a fleet coming back after a broker restart does not reconnect in one
//     millisecond); once every depot is online (or WarmUp has passed) each
//     depot posts Rate receipts a second for Duration (start times spread over the first
//     second), then the fleet waits up to Drain for every one to be acknowledged.
//   - Outages: every OutageEvery each depot's uplink is stopped (a clean stop: retained
//     online:false, DISCONNECT) for OutageFor while the depot goes on posting; the depots'
//     outages are spread evenly over the period so that the broker sees a steady trickle of
//     reconnecting depots with a backlog.
//   - Lost is what was posted and never acknowledged by the end of Drain: it must be 0.
//   - Latency is end to end, from just before a transaction's commit to the moment its
//     depot's fsynced ack watermark covers it, observed by polling every depot's watermark
//     every LatencyPoll (default 10 ms, so figures are up to that much high).
//   - RSS per depot is the process's peak resident memory during the run, less what it
//     used before the first depot opened, divided by the depots.
//
// # Measured
//
// On the shared 2-core test machine against mosquitto with the ERP simulator in-process, at
// 1 tx/s per depot for 30 s: journals on disk (ext4, every commit and ack fsynced), 300
// depots p99 0.12 s, 500 depots p99 0.19 s (4.0 s while the machine's load average was 13),
// 800 depots p99 2.8 s; journals on tmpfs (the same code, no fsync cost: the broker and the
// ERP side are then what is measured), 1000 depots p99 0.42 s, 2000 depots p99 3.5 s. RSS
// 0.40 MiB per depot throughout. So on this machine the fsyncs of the simulated depots'
// own disks, not the broker, bound the fleet at 500 to 800 depots.
//
// # Concurrency
//
// Run owns every goroutine it starts (a poster and an uplink runner per depot, the
// watermark poller) and returns after they all stopped and every journal is closed.
package fleetsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
)

// Config is one simulation. Depots, Rate, Duration, Uplink.Brokers and Dir are required.
type Config struct {
	Depots   int
	Rate     float64       // transactions a second per depot
	Duration time.Duration // how long the depots post
	Drain    time.Duration // how long to wait for the last acks afterwards; default 60s
	WarmUp   time.Duration // the longest to wait for every depot to be online first; default Ramp + 2m
	Ramp     time.Duration // the uplinks' starts are spread evenly over it; 0: all at once
	// Uplink is every depot's uplink section; ClientID must be empty (each depot connects
	// under its own id). Brokers are rotated per depot so that a cluster's nodes share
	// the fleet.
	Uplink uplink.Config
	// IDPrefix names the depots IDPrefix0001, IDPrefix0002...; default "SIM".
	IDPrefix string
	// Dir holds one directory per depot with its journal; it must not hold journals of
	// an earlier run (the seqs would not start at 1).
	Dir string
	// OutageEvery and OutageFor schedule the outages; zero OutageEvery means none.
	OutageEvery, OutageFor time.Duration
	// Progress, when set, is called every ProgressEvery (default 5s) from Run's goroutine.
	Progress      func(Progress)
	ProgressEvery time.Duration
	LatencyPoll   time.Duration
	// ERP, when set, is asked at the end what the ERP applied of a depot and how many
	// duplicate deliveries it dropped (the ERP simulator in-process can say; a connector
	// elsewhere cannot, and then its Odoo idempotency keys are the check).
	ERP func(depot string) (applied, duplicatesDropped uint64)
	Log *slog.Logger
}

// Progress is a snapshot during the run.
type Progress struct {
	Elapsed time.Duration
	Posted  uint64
	Acked   uint64
	Online  int // depots whose uplink is online
	Depots  int
	P99     time.Duration // over the transactions acknowledged so far
}

func (p Progress) String() string {
	return fmt.Sprintf("t=%-6s posted=%d acked=%d backlog=%d online=%d/%d p99=%v",
		p.Elapsed.Round(time.Second), p.Posted, p.Acked, p.Posted-p.Acked, p.Online, p.Depots, p.P99.Round(time.Millisecond))
}

// Report is the outcome of a run.
type Report struct {
	Depots   int
	Rate     float64
	Posted   uint64
	Acked    uint64
	Lost     uint64 // posted and not acknowledged by the end of Drain
	Outages  uint64
	P50, P99 time.Duration
	Max      time.Duration
	Samples  int
	WarmUp   time.Duration // from the start to every depot online (before posting)
	Online   int           // depots online when posting started
	Ramp     time.Duration
	// AllOnline is from the start until every depot was online at once, the first time,
	// during the warm-up or after it; AllOnlineKnown is false when that never happened.
	AllOnline      time.Duration
	AllOnlineKnown bool
	Elapsed        time.Duration // of posting and draining
	RSSBase        int64         // bytes, before the first depot opened
	RSSPeak        int64         // bytes
	RSSPerDpt      int64         // (peak - base) / depots
	PerDepot       map[string]uint64
	FirstError     error // the first commit error, if any depot could not post
	// With Config.ERP: what the ERP applied (it must equal Posted), the depots whose
	// applied seq differs from their last seq, and the duplicate deliveries it dropped.
	ERPApplied    uint64
	ERPMismatched []string
	ERPDuplicates uint64
	ERPKnown      bool
}

func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "depots:             %d at %g tx/s each\n", r.Depots, r.Rate)
	fmt.Fprintf(&b, "warm-up:            %d of %d online after %v (journals opened, uplinks connected)\n", r.Online, r.Depots, r.WarmUp.Round(time.Millisecond))
	if r.AllOnlineKnown {
		fmt.Fprintf(&b, "all online:         after %v from the start (uplinks started over %v)\n", r.AllOnline.Round(time.Millisecond), r.Ramp)
	} else {
		fmt.Fprintf(&b, "all online:         never all %d at once (uplinks started over %v)\n", r.Depots, r.Ramp)
	}
	fmt.Fprintf(&b, "posted:             %d\n", r.Posted)
	fmt.Fprintf(&b, "acknowledged:       %d\n", r.Acked)
	fmt.Fprintf(&b, "lost:               %d\n", r.Lost)
	fmt.Fprintf(&b, "outages:            %d\n", r.Outages)
	fmt.Fprintf(&b, "e2e latency:        p50 %v  p99 %v  max %v  (%d samples)\n", r.P50.Round(time.Millisecond), r.P99.Round(time.Millisecond), r.Max.Round(time.Millisecond), r.Samples)
	fmt.Fprintf(&b, "rss:                %.1f MiB peak, %.1f MiB before the depots, %.2f MiB per depot\n", mib(r.RSSPeak), mib(r.RSSBase), mib(r.RSSPerDpt))
	fmt.Fprintf(&b, "elapsed:            %v\n", r.Elapsed.Round(time.Millisecond))
	if r.ERPKnown {
		fmt.Fprintf(&b, "ERP applied:        %d (depots whose applied seq is not their last: %d)\n", r.ERPApplied, len(r.ERPMismatched))
		fmt.Fprintf(&b, "duplicates applied: 0 by the ERP's (depot, seq) rule; %d duplicate deliveries dropped\n", r.ERPDuplicates)
	} else {
		fmt.Fprintf(&b, "duplicates applied: not known here: the connector's idempotency keys decide\n")
	}
	if r.FirstError != nil {
		fmt.Fprintf(&b, "first error:        %v\n", r.FirstError)
	}
	return b.String()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// ID returns the id of depot i (0-based) for prefix.
func ID(prefix string, i int) string { return fmt.Sprintf("%s%04d", prefix, i+1) }

type depot struct {
	id string
	j  *edge.Journal
	u  *uplink.Uplink

	mu        sync.Mutex
	committed []time.Time // committed[seq-1]: when the commit of seq started
	seen      uint64      // acked watermark already turned into latencies
}

func (c *Config) check() error {
	var problems []string
	if c.Depots < 1 {
		problems = append(problems, "depots must be at least 1")
	}
	if c.Rate <= 0 || c.Rate > 1000 {
		problems = append(problems, "rate must be above 0 and at most 1000 tx/s per depot")
	}
	if c.Duration <= 0 {
		problems = append(problems, "duration must be positive")
	}
	if c.Dir == "" {
		problems = append(problems, "a data directory is required")
	}
	if c.Uplink.ClientID != "" {
		problems = append(problems, "the uplink client id must be left empty: each depot connects under its own")
	}
	if c.Ramp < 0 {
		problems = append(problems, "ramp must not be negative")
	}
	if c.OutageEvery < 0 || c.OutageFor < 0 || (c.OutageEvery > 0 && c.OutageFor >= c.OutageEvery) {
		problems = append(problems, "an outage must be shorter than its period")
	}
	c.Uplink.Check("uplink", func(key, msg string) { problems = append(problems, key+": "+msg) })
	if len(problems) > 0 {
		return fmt.Errorf("fleet sim: %s", strings.Join(problems, "; "))
	}
	if c.Drain <= 0 {
		c.Drain = 60 * time.Second
	}
	if c.WarmUp <= 0 {
		c.WarmUp = c.Ramp + 2*time.Minute
	}
	if c.IDPrefix == "" {
		c.IDPrefix = "SIM"
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 5 * time.Second
	}
	if c.LatencyPoll <= 0 {
		c.LatencyPoll = 10 * time.Millisecond
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run runs the simulation until it is done or ctx ends (then it reports what it has).
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.check(); err != nil {
		return Report{}, err
	}
	rep := Report{Depots: cfg.Depots, Rate: cfg.Rate, Ramp: cfg.Ramp, RSSBase: rss()}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		return rep, err
	}
	ds := make([]*depot, 0, cfg.Depots)
	defer func() {
		for _, d := range ds {
			d.j.Close()
		}
	}()
	for i := range cfg.Depots {
		id := ID(cfg.IDPrefix, i)
		dir := filepath.Join(cfg.Dir, id)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return rep, fmt.Errorf("fleet sim: %w", err)
		}
		j, err := edge.Open(filepath.Join(dir, "depotd.db"), edge.Options{Depot: id, Catalog: cat, Logger: cfg.Log})
		if err != nil {
			return rep, fmt.Errorf("fleet sim: depot %s: %w", id, err)
		}
		d := &depot{id: id, j: j}
		ds = append(ds, d)
		if last, _ := j.Positions(); last != 0 {
			return rep, fmt.Errorf("fleet sim: %s already holds depot %s's journal at seq %d: use an empty directory", cfg.Dir, id, last)
		}
		ucfg := cfg.Uplink
		if n := len(ucfg.Brokers); n > 1 {
			ucfg.Brokers = append(slices.Clone(ucfg.Brokers[i%n:]), ucfg.Brokers[:i%n]...)
		}
		d.u, err = uplink.New(ucfg, id, j, nil, cfg.Log.With("depot", id), uplink.WithVersion("fleetsim"))
		if err != nil {
			return rep, fmt.Errorf("fleet sim: depot %s: %w", id, err)
		}
	}

	start := time.Now()
	var lat latencies
	var outages atomic.Uint64
	var firstErr error
	var errOnce sync.Once

	// The uplinks run until the drain is over; the posters until Duration.
	linkCtx, stopLinks := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLinks()
	var links, posters sync.WaitGroup
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	for i, d := range ds {
		links.Add(1)
		go func() {
			defer links.Done()
			runLink(linkCtx, d, cfg, i, time.Duration(i)*cfg.Ramp/time.Duration(len(ds)), &outages)
		}()
	}
	// Posting starts once the fleet is online (or WarmUp has passed): the figures are of
	// the fleet at work, not of a whole fleet connecting at once, which is timed apart.
	warm := time.NewTicker(20 * time.Millisecond)
	for online := 0; online < len(ds) && time.Since(start) < cfg.WarmUp && ctx.Err() == nil; <-warm.C {
		online = 0
		for _, d := range ds {
			if d.u.State().Online {
				online++
			}
		}
		rep.Online = online
	}
	warm.Stop()
	rep.WarmUp = time.Since(start)
	if rep.Online == len(ds) {
		rep.AllOnline, rep.AllOnlineKnown = rep.WarmUp, true
	}
	linksStarted := start
	start = time.Now()
	postCtx, stopPosting := context.WithTimeout(ctx, cfg.Duration)
	defer stopPosting()
	for i, d := range ds {
		posters.Add(1)
		go func() {
			defer posters.Done()
			if err := post(postCtx, d, interval, time.Duration(i)*time.Second/time.Duration(len(ds))); err != nil {
				errOnce.Do(func() { firstErr = err })
			}
		}()
	}

	poll := time.NewTicker(cfg.LatencyPoll)
	defer poll.Stop()
	progress := time.NewTicker(cfg.ProgressEvery)
	defer progress.Stop()
	postersDone := make(chan struct{})
	go func() { posters.Wait(); close(postersDone) }()
	var drainDeadline <-chan time.Time
	peak := rep.RSSBase
	snapshot := func() Progress {
		p := Progress{Elapsed: time.Since(start), Depots: len(ds), P99: lat.quantile(0.99)}
		for _, d := range ds {
			last, acked := d.j.Positions()
			p.Posted += last
			p.Acked += acked
			if d.u.State().Online {
				p.Online++
			}
		}
		return p
	}
loop:
	for {
		select {
		case <-poll.C:
			now := time.Now()
			online := 0
			for _, d := range ds {
				d.observe(now, &lat)
				if !rep.AllOnlineKnown && d.u.State().Online {
					online++
				}
			}
			if !rep.AllOnlineKnown && online == len(ds) {
				rep.AllOnline, rep.AllOnlineKnown = now.Sub(linksStarted), true
			}
		case <-progress.C:
			peak = max(peak, rss())
			if cfg.Progress != nil {
				cfg.Progress(snapshot())
			}
		case <-postersDone:
			postersDone = nil
			drainDeadline = time.After(cfg.Drain)
		case <-drainDeadline:
			break loop
		case <-ctx.Done():
			break loop
		}
		if postersDone == nil && allAcked(ds) {
			break loop
		}
	}
	peak = max(peak, rss())
	stopPosting()
	<-waitChan(&posters)
	now := time.Now()
	for _, d := range ds {
		d.observe(now, &lat)
	}
	stopLinks()
	links.Wait()

	rep.Elapsed = time.Since(start)
	rep.Outages = outages.Load()
	rep.PerDepot = make(map[string]uint64, len(ds))
	for _, d := range ds {
		last, acked := d.j.Positions()
		rep.Posted += last
		rep.Acked += acked
		rep.PerDepot[d.id] = last
		if cfg.ERP != nil {
			applied, dups := cfg.ERP(d.id)
			rep.ERPKnown = true
			rep.ERPApplied += applied
			rep.ERPDuplicates += dups
			if applied != last {
				rep.ERPMismatched = append(rep.ERPMismatched, d.id)
			}
		}
	}
	rep.Lost = rep.Posted - rep.Acked
	rep.P50, rep.P99, rep.Max, rep.Samples = lat.quantile(0.5), lat.quantile(0.99), lat.max(), lat.len()
	rep.RSSPeak = peak
	rep.RSSPerDpt = (peak - rep.RSSBase) / int64(len(ds))
	rep.FirstError = firstErr
	return rep, nil
}

func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	return ch
}

func allAcked(ds []*depot) bool {
	for _, d := range ds {
		if last, acked := d.j.Positions(); acked != last {
			return false
		}
	}
	return true
}

// post commits a receipt every interval, the first after offset, until ctx ends.
func post(ctx context.Context, d *depot, interval, offset time.Duration) error {
	t := time.NewTimer(offset)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		t.Reset(interval)
		at := time.Now()
		d.mu.Lock()
		d.committed = append(d.committed, at)
		d.mu.Unlock()
		tx, _, err := d.j.Commit(ctx, edge.Transaction{
			ID: fmt.Sprintf("sim-%s-%d", d.id, n), Type: edge.Receipt, Station: "SIM", Operator: "sim",
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("depot %s commit: %w", d.id, err)
		}
		// One poster per depot commits in order, so seq n+1 is the n-th commit: a
		// mismatch would make every latency of this depot wrong.
		if tx.Seq != uint64(n+1) {
			return fmt.Errorf("depot %s: commit %d got seq %d", d.id, n+1, tx.Seq)
		}
	}
}

// runLink runs the depot's uplink from after on, stopping it for cfg.OutageFor every
// cfg.OutageEvery (depot i's outages offset by i/Depots of the period) until ctx ends.
func runLink(ctx context.Context, d *depot, cfg Config, i int, after time.Duration, outages *atomic.Uint64) {
	if after > 0 {
		t := time.NewTimer(after)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	for {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); d.u.Run(runCtx) }()
		if cfg.OutageEvery == 0 {
			<-ctx.Done()
			cancel()
			<-done
			return
		}
		period := cfg.OutageEvery
		offset := time.Duration(i) * period / time.Duration(cfg.Depots)
		wait := period - time.Duration(time.Now().UnixNano()-int64(offset))%period
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			cancel()
			<-done
			return
		case <-t.C:
		}
		cancel()
		<-done
		outages.Add(1)
		t.Reset(cfg.OutageFor)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// observe turns the acks that arrived since the last call into latencies.
func (d *depot) observe(now time.Time, lat *latencies) {
	_, acked := d.j.Positions()
	d.mu.Lock()
	defer d.mu.Unlock()
	if acked > uint64(len(d.committed)) {
		acked = uint64(len(d.committed)) // a commit in flight: its time is recorded first
	}
	for s := d.seen + 1; s <= acked; s++ {
		lat.add(now.Sub(d.committed[s-1]))
	}
	d.seen = max(d.seen, acked)
}

type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	sorted bool
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.sorted = false
	l.mu.Unlock()
}

func (l *latencies) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	if !l.sorted {
		slices.Sort(l.d)
		l.sorted = true
	}
	return l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]
}

func (l *latencies) max() time.Duration { return l.quantile(1) }

// rss is the process's resident set in bytes (Linux), or 0.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// ErrLost is returned by Check when a report shows a transaction that was never
// acknowledged.
var ErrLost = errors.New("transactions lost")

// Check returns an error when the report breaks the simulator's promises: nothing lost
// (every posted transaction acknowledged and, when the ERP can say, applied), no commit
// error.
func (r Report) Check() error {
	if r.FirstError != nil {
		return r.FirstError
	}
	if r.Lost > 0 {
		return fmt.Errorf("%w: %d of %d posted never acknowledged", ErrLost, r.Lost, r.Posted)
	}
	if len(r.ERPMismatched) > 0 {
		return fmt.Errorf("%w: the ERP's applied seq differs from the depot's last seq for %d depots (first %s)", ErrLost, len(r.ERPMismatched), r.ERPMismatched[0])
	}
	return nil
}
