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
	Version        string   `json:"version,omitempty"`
	// At is the depot's own time stamp of the status; LastSeen when this view received it.
	At       string    `json:"at"`
	LastSeen time.Time `json:"last_seen"`
}

// Fleet folds status messages of many depots into one row each. It applies the session
// rule of PROTOCOL.md: an online:false whose session is lower than the newest online:true
// seen is a late Will from an old connection and is ignored. Safe for concurrent use.
type Fleet struct {
	prefix string
	mu     sync.Mutex
	rows   map[string]*FleetRow
}

// NewFleet returns a view of the depots below prefix (e.g. "depots/").
func NewFleet(prefix string) *Fleet {
	return &Fleet{prefix: prefix, rows: map[string]*FleetRow{}}
}

// Filter is the subscription that feeds the view.
func (f *Fleet) Filter() string { return f.prefix + "+/" + TopicStatus }

// Update applies one message received on topic at now. changed is false for a stale or
// refused message; err says why a message was refused. An empty payload (a cleared
// retained status) removes the depot.
func (f *Fleet) Update(topic string, payload []byte, now time.Time) (row FleetRow, changed bool, err error) {
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
	r.Online, r.Session, r.At, r.LastSeen = s.Online, s.Session, s.At, now
	// A Will carries no counters: keep the last known ones, they are what ops needs to
	// judge an offline depot.
	if s.Backlog != nil {
		r.Backlog, r.OldestPendingS, r.LastSeq, r.AckedSeq, r.DiskUsedPct = s.Backlog, s.OldestPendingS, s.LastSeq, s.AckedSeq, s.DiskUsedPct
	}
	if s.Version != "" {
		r.Version = s.Version
	}
	return *r, true, nil
}

// Rows returns every depot, sorted by id.
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

// FormatTable renders rows as a fixed-width table, one line per depot.
func FormatTable(rows []FleetRow, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-16s %-7s %8s %10s %12s %10s\n", "DEPOT", "ONLINE", "SESSION", "BACKLOG", "OLDEST", "LAST SEEN")
	for _, r := range rows {
		online := "no"
		if r.Online {
			online = "yes"
		}
		backlog, oldest := "-", "-"
		if r.Backlog != nil {
			backlog = fmt.Sprint(*r.Backlog)
		}
		if r.OldestPendingS != nil && r.Backlog != nil && *r.Backlog > 0 {
			oldest = (time.Duration(*r.OldestPendingS * float64(time.Second))).Round(time.Second).String()
		}
		seen := now.Sub(r.LastSeen).Round(time.Second).String() + " ago"
		fmt.Fprintf(&b, "%-16s %-7s %8d %10s %12s %10s\n", r.Depot, online, r.Session, backlog, oldest, seen)
	}
	return b.String()
}
