package uplink

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// FleetRow is one depot as central ops sees it, built from its retained status messages.
type FleetRow struct {
	Depot          string   `json:"depot"`
	Online         bool     `json:"online"`
	Session        uint64   `json:"session"`
	Backlog        *uint64  `json:"backlog,omitempty"`
	OldestPendingS *float64 `json:"oldest_pending_s,omitempty"`
	LastSeq        *uint64  `json:"last_seq,omitempty"`
	AckedSeq       *uint64  `json:"acked_seq,omitempty"`
	DiskUsedPct    *float64 `json:"disk_used_pct,omitempty"`
	ERPLagS        *float64 `json:"erp_lag_s,omitempty"`
	OpenExceptions *int     `json:"open_exceptions,omitempty"`
	OpenRejections *int     `json:"open_rejections,omitempty"`
	// DevicesDown counts the devices of the last full status not "connected"; nil when
	// the depot reported no device list.
	DevicesDown     *int     `json:"devices_down,omitempty"`
	StatusIntervalS *float64 `json:"status_interval_s,omitempty"`
	Version         string   `json:"version,omitempty"`
	// Stale is set by RowsAt: the depot said online but nothing came for 3× its status
	// interval, so it counts as offline (PROTOCOL.md, "Brokers": a depot that died with its
	// NATS node leaves no Will).
	Stale bool `json:"stale,omitempty"`
	// At is the depot's own time stamp of the status; LastSeen when this view received it.
	At       string    `json:"at"`
	LastSeen time.Time `json:"last_seen"`
}

// Fleet folds status messages of many depots into one row each. It applies the session
// rule of PROTOCOL.md: an online:false whose session is lower than the newest online:true
// seen is a late Will from an old connection and is ignored. Safe for concurrent use.
type Fleet struct {
	prefix   string
	interval time.Duration
	mu       sync.Mutex
	rows     map[string]*FleetRow
}

// NewFleet returns a view of the depots below prefix (e.g. "depots/").
func NewFleet(prefix string) *Fleet {
	return &Fleet{prefix: prefix, interval: DefaultStatusInterval, rows: map[string]*FleetRow{}}
}

// SetStatusInterval sets the status interval assumed for depots whose status does not
// say theirs (status_interval_s came after the first release). Default 60 s.
func (f *Fleet) SetStatusInterval(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > 0 {
		f.interval = d
	}
}

// StaleFactor: a depot whose last status is older than StaleFactor × its status interval
// counts as offline.
const StaleFactor = 3

// Filter is the subscription that feeds the view.
func (f *Fleet) Filter() string { return f.prefix + "+/" + TopicStatus }

// Update applies one message received on topic at now. changed is false for a stale or
// refused message; err says why a message was refused. An empty payload (a cleared
// retained status) removes the depot.
func (f *Fleet) Update(topic string, payload []byte, now time.Time) (row FleetRow, changed bool, err error) {
	return f.UpdateMessage(topic, payload, false, now)
}

// UpdateMessage is Update for a message that may be retained. A retained status was
// received now but sent at its "at": last seen is then the earlier of the two, so that
// the retained online:true of a depot that died with its broker node is seen as stale at
// once rather than after 3 more intervals (a depot clock ahead of ours cannot make it
// look fresher than now).
func (f *Fleet) UpdateMessage(topic string, payload []byte, retained bool, now time.Time) (row FleetRow, changed bool, err error) {
	rest, ok := strings.CutPrefix(topic, f.prefix)
	depot, tail, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || tail != TopicStatus || depot == "" {
		return FleetRow{}, false, fmt.Errorf("%w: topic %q is not %s", ErrInvalid, topic, f.Filter())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(payload) == 0 {
		_, had := f.rows[depot]
		delete(f.rows, depot)
		return FleetRow{Depot: depot}, had, nil
	}
	if err := checkVersion(payload); err != nil {
		return FleetRow{}, false, err
	}
	var s Status
	if err := json.Unmarshal(payload, &s); err != nil {
		return FleetRow{}, false, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if s.Depot != depot {
		return FleetRow{}, false, fmt.Errorf("%w: depot %q on the topic of %q", ErrInvalid, s.Depot, depot)
	}
	r := f.rows[depot]
	if r == nil {
		r = &FleetRow{Depot: depot}
		f.rows[depot] = r
	}
	if s.Session < r.Session {
		// An older connection's message, typically its Will arriving after the next
		// connection said online: stale.
		return *r, false, nil
	}
	seen := now
	if at, err := time.Parse(time.RFC3339Nano, s.At); retained && err == nil && at.Before(now) {
		seen = at
	}
	r.Online, r.Session, r.At, r.LastSeen = s.Online, s.Session, s.At, seen
	// A Will carries no counters: keep the last known ones, they are what ops needs to
	// judge an offline depot.
	if s.Backlog != nil {
		r.Backlog, r.OldestPendingS, r.LastSeq, r.AckedSeq, r.DiskUsedPct = s.Backlog, s.OldestPendingS, s.LastSeq, s.AckedSeq, s.DiskUsedPct
		r.ERPLagS, r.OpenExceptions, r.OpenRejections = s.ERPLagS, s.OpenExceptions, s.OpenRejections
		r.DevicesDown = nil
		if s.Devices != nil {
			down := 0
			for _, d := range s.Devices {
				if d.State != "connected" {
					down++
				}
			}
			r.DevicesDown = &down
		}
	}
	// An interval beyond a week is no heartbeat (and would overflow a Duration): ignored.
	if s.StatusIntervalS != nil && *s.StatusIntervalS > 0 && *s.StatusIntervalS <= 7*24*3600 {
		r.StatusIntervalS = s.StatusIntervalS
	}
	if s.Version != "" {
		r.Version = s.Version
	}
	return *r, true, nil
}

// RowsAt returns every depot as at now, sorted by id, with the staleness rule applied: an
// online depot last seen more than StaleFactor × its status interval ago is Stale and not
// Online.
func (f *Fleet) RowsAt(now time.Time) []FleetRow {
	f.mu.Lock()
	def := f.interval
	f.mu.Unlock()
	rows := f.Rows()
	for i := range rows {
		r := &rows[i]
		interval := def
		if r.StatusIntervalS != nil {
			interval = time.Duration(*r.StatusIntervalS * float64(time.Second))
		}
		if r.Online && now.Sub(r.LastSeen) > StaleFactor*interval {
			r.Online, r.Stale = false, true
		}
	}
	return rows
}

// Rows returns every depot as last reported, sorted by id (no staleness: see RowsAt).
func (f *Fleet) Rows() []FleetRow {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FleetRow, 0, len(f.rows))
	for _, r := range f.rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Depot < out[j].Depot })
	return out
}

// FormatTable renders rows as a fixed-width table, one line per depot. A figure the depot
// did not report (an older depot, or only a Will seen) shows as "-".
func FormatTable(rows []FleetRow, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-7s %8s %10s %12s %10s %5s %5s %5s %10s\n",
		"DEPOT", "ONLINE", "SESSION", "BACKLOG", "OLDEST", "ERP LAG", "EXC", "REJ", "DOWN", "LAST SEEN")
	for _, r := range rows {
		online := "no"
		switch {
		case r.Online:
			online = "yes"
		case r.Stale:
			online = "stale"
		}
		backlog, oldest := "-", "-"
		if r.Backlog != nil {
			backlog = fmt.Sprint(*r.Backlog)
		}
		if r.OldestPendingS != nil && r.Backlog != nil && *r.Backlog > 0 {
			oldest = secs(*r.OldestPendingS)
		}
		lag := "-"
		if r.ERPLagS != nil {
			lag = secs(*r.ERPLagS)
		}
		seen := now.Sub(r.LastSeen).Round(time.Second).String() + " ago"
		fmt.Fprintf(&b, "%-16s %-7s %8d %10s %12s %10s %5s %5s %5s %10s\n", r.Depot, online, r.Session, backlog, oldest,
			lag, count(r.OpenExceptions), count(r.OpenRejections), count(r.DevicesDown), seen)
	}
	return b.String()
}

func secs(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Second).String()
}

func count(n *int) string {
	if n == nil {
		return "-"
	}
	return fmt.Sprint(*n)
}
