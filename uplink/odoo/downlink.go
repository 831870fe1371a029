package odoo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/depotd/depotd/edge"
)

// Defaults of DownlinkConfig; documented in firmware-config/erp.yaml.
const (
	DefaultPoll             = 30 * time.Second
	DefaultSnapshotEvery    = 100
	DefaultSnapshotInterval = 15 * time.Minute
)

// DownlinkConfig is erp.yaml's `downlink:` section: what flows from Odoo to the depots.
type DownlinkConfig struct {
	// Poll is how often Odoo is asked whether its products, units, locations or
	// warehouses changed (one small grouped query per model, by write_date and count).
	// Master data is republished only when what a depot receives changed. Default 30s.
	Poll time.Duration `yaml:"poll"`
	// SnapshotEvery takes a depot's stock snapshot after this many of its seqs were
	// processed since the last one. Default 100.
	SnapshotEvery int `yaml:"snapshot_every"`
	// SnapshotInterval takes one at least this often, even when nothing was posted
	// (Odoo's own moves change the stock too). Default 15m.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
}

// ApplyDefaults fills the zero values documented on DownlinkConfig.
func (c *DownlinkConfig) ApplyDefaults() {
	if c.Poll == 0 {
		c.Poll = DefaultPoll
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = DefaultSnapshotEvery
	}
	if c.SnapshotInterval == 0 {
		c.SnapshotInterval = DefaultSnapshotInterval
	}
}

// Check reports every problem with its key path under path (normally "downlink").
func (c *DownlinkConfig) Check(path string, report func(key, msg string)) {
	if c.Poll < time.Second || c.Poll > time.Hour {
		report(path+".poll", fmt.Sprintf("%v: must be between 1s and 1h", c.Poll))
	}
	if c.SnapshotEvery < 1 || c.SnapshotEvery > 1000000 {
		report(path+".snapshot_every", fmt.Sprintf("%d: must be between 1 and 1000000 transactions", c.SnapshotEvery))
	}
	if c.SnapshotInterval < 10*time.Second || c.SnapshotInterval > 24*time.Hour {
		report(path+".snapshot_interval", fmt.Sprintf("%v: must be between 10s and 24h", c.SnapshotInterval))
	}
}

// checkOperators reports problems in a depot's operators list (CheckDepots).
func checkOperators(path string, ops []edge.Operator, report func(key, msg string)) {
	seen := map[string]int{}
	for i, o := range ops {
		p := fmt.Sprintf("%s[%d]", path, i)
		if strings.TrimSpace(o.Badge) == "" {
			report(p+".badge", "required (the badge barcode the operator scans)")
		} else if j, dup := seen[o.Badge]; dup {
			report(p+".badge", fmt.Sprintf("%q is also %s[%d]", o.Badge, path, j))
		} else {
			seen[o.Badge] = i
		}
		if strings.TrimSpace(o.Name) == "" {
			report(p+".name", "required")
		}
		switch o.Role {
		case "operator", "supervisor", "admin":
		default:
			report(p+".role", fmt.Sprintf("%q: one of operator, supervisor, admin", o.Role))
		}
	}
}

// publisher is the way out to the depots; *erpcore.Core satisfies it.
type publisher interface {
	Publish(ctx context.Context, depot, suffix string, retained bool, payload []byte) error
	Wake(depot string)
	Online() bool
}

// Downlink publishes Odoo's master data (retained) and stock snapshots to each depot.
//
// Master data: every Poll it asks Odoo for the newest write_date and the record count of
// each model the payloads come from; only when that stamp moved (or at start) are the
// payloads read and built. A payload's version is the newest write_date and a hash of its
// content, and it is published only to depots whose last published version differs (kept
// in the state directory across restarts), so an unchanged Odoo publishes nothing.
//
// Snapshots run on the depot's erpcore worker (Between), between two of its postings, so
// that applied_seq is exact.
type Downlink struct {
	c      *Client
	cfg    DownlinkConfig
	depots []Depot
	pub    publisher
	log    *slog.Logger
	state  string // the file of published versions; "" keeps them in memory only

	mu        sync.Mutex
	published map[string]map[string]string // depot → kind → version
	stamps    map[string]string            // kind → the Odoo stamp the last build saw
	snaps     map[string]*snapState
	stats     map[string]*DownlinkStats
	pollErrAt time.Time
	polls     uint64
}

// DownlinkStats counts what the downlink did for one depot.
type DownlinkStats struct {
	Published        map[string]uint64 // master payloads the broker accepted, by kind
	Snapshots        uint64            // stock snapshots the broker accepted
	SnapshotSeq      uint64            // applied_seq of the last one
	SnapshotAt       time.Time
	SnapshotErrors   uint64
	SnapshotRequests uint64
}

func newDownlink(c *Client, cfg DownlinkConfig, depots []Depot, stateDir string, log *slog.Logger) *Downlink {
	cfg.ApplyDefaults()
	d := &Downlink{c: c, cfg: cfg, depots: depots, log: log, published: map[string]map[string]string{},
		stamps: map[string]string{}, snaps: map[string]*snapState{}, stats: map[string]*DownlinkStats{}}
	if stateDir != "" {
		d.state = filepath.Join(stateDir, "downlink.json")
	}
	for _, dep := range depots {
		d.snaps[dep.ID] = &snapState{}
		d.stats[dep.ID] = &DownlinkStats{Published: map[string]uint64{}}
	}
	return d
}

// Polls counts the polls of Odoo for master data changes that completed since start.
func (d *Downlink) Polls() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.polls
}

// Stats returns a copy of a depot's counters.
func (d *Downlink) Stats(depot string) DownlinkStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.stats[depot]
	if !ok {
		return DownlinkStats{}
	}
	out := *s
	out.Published = map[string]uint64{}
	for k, v := range s.Published {
		out.Published[k] = v
	}
	return out
}

type stateFile struct {
	Published map[string]map[string]string `json:"published"`
}

func (d *Downlink) load() error {
	if d.state == "" {
		return nil
	}
	raw, err := os.ReadFile(d.state)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", d.state, err)
	}
	var f stateFile
	if err := json.Unmarshal(raw, &f); err != nil {
		// Losing it costs one republish of unchanged payloads, nothing more.
		d.log.Warn("erp downlink state unreadable: master data will be published again", "file", d.state, "err", err)
		return nil
	}
	for dep, m := range f.Published {
		d.published[dep] = m
	}
	return nil
}

// save writes the published versions atomically (temp file, fsync, rename).
func (d *Downlink) save() error {
	if d.state == "" {
		return nil
	}
	d.mu.Lock()
	raw, err := json.Marshal(stateFile{Published: d.published})
	d.mu.Unlock()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d.state), 0o750); err != nil {
		return err
	}
	return writeFileSync(d.state, raw)
}

// Run polls Odoo for master data changes and wakes depots whose snapshot is due, until
// ctx ends; it returns nil then.
func (d *Downlink) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var next time.Time
	for {
		// Polling before the broker answers would only fail to publish (and say so).
		if now := time.Now(); !now.Before(next) && d.pub.Online() {
			d.poll(ctx)
			next = time.Now().Add(d.cfg.Poll)
		}
		d.wakeDue()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// masterSet is one kind's payload for a depot.
type masterSet struct {
	version string
	payload []byte
}

// poll publishes what changed. A failure (Odoo or the broker) is logged at most once a
// minute and retried at the next poll.
func (d *Downlink) poll(ctx context.Context) {
	err := d.pollOnce(ctx)
	d.mu.Lock()
	d.polls++
	d.mu.Unlock()
	if err == nil || ctx.Err() != nil {
		return
	}
	d.mu.Lock()
	quiet := time.Since(d.pollErrAt) < time.Minute
	if !quiet {
		d.pollErrAt = time.Now()
	}
	d.mu.Unlock()
	if !quiet {
		d.log.Warn("erp downlink: master data not published (retrying at every poll)", "err", err)
	}
}

func (d *Downlink) pollOnce(ctx context.Context) error {
	var errs []error
	for _, kind := range []string{edge.MasterKindItems, edge.MasterKindLocations, edge.MasterKindOperators, edge.MasterKindOrderpoints, edge.MasterKindDocuments} {
		stamp := "config"
		if kind != edge.MasterKindOperators {
			var err error
			if stamp, err = d.stamp(ctx, kind); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		d.mu.Lock()
		same := d.stamps[kind] == stamp
		d.mu.Unlock()
		if same {
			continue
		}
		sets, err := d.build(ctx, kind)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := d.publishMasters(ctx, kind, sets); err != nil {
			errs = append(errs, err)
			continue
		}
		d.mu.Lock()
		d.stamps[kind] = stamp
		d.mu.Unlock()
	}
	return errors.Join(errs...)
}

// stampModels are the models each kind's payloads are built from: a change in any of them
// (a write moves write_date; a delete the count) may change the payload.
var stampModels = map[string][]string{
	edge.MasterKindItems:       {"product.product", "product.template", "product.uom", "uom.uom"},
	edge.MasterKindLocations:   {"stock.location", "stock.warehouse"},
	edge.MasterKindOrderpoints: orderpointModels,
	edge.MasterKindDocuments:   {"stock.picking", "stock.move"},
}

// stamp is the newest write_date and the count of every model of kind, archived records
// included: one grouped query per model, whatever the size of the catalogue.
func (d *Downlink) stamp(ctx context.Context, kind string) (string, error) {
	var b strings.Builder
	for _, model := range stampModels[kind] {
		var rows []map[string]any
		if err := d.c.Call(ctx, model, "formatted_read_group", map[string]any{
			"domain": []any{}, "groupby": []string{}, "aggregates": []string{"write_date:max", "__count"},
			"context": map[string]any{"active_test": false}}, &rows); err != nil {
			return "", fmt.Errorf("poll %s: %w", model, err)
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "%s=%v/%v;", model, r["write_date:max"], r["__count"])
		}
	}
	return b.String(), nil
}

// build reads kind's payload for every depot.
func (d *Downlink) build(ctx context.Context, kind string) (map[string]masterSet, error) {
	out := map[string]masterSet{}
	switch kind {
	case edge.MasterKindItems:
		items, newest, err := readItems(ctx, d.c, d.log)
		if err != nil {
			return nil, err
		}
		set, err := masterPayload(newest, func(v string) any { return edge.MasterItems{V: 1, Version: v, Items: items} }, items)
		if err != nil {
			return nil, err
		}
		for _, dep := range d.depots {
			out[dep.ID] = set // products are the company's, the same for every depot
		}
	case edge.MasterKindLocations:
		for _, dep := range d.depots {
			locs, newest, err := readLocations(ctx, d.c, dep)
			if err != nil {
				return nil, err
			}
			set, err := masterPayload(newest, func(v string) any { return edge.MasterLocations{V: 1, Version: v, Locations: locs} }, locs)
			if err != nil {
				return nil, err
			}
			out[dep.ID] = set
		}
	case edge.MasterKindOrderpoints:
		return d.buildOrderpoints(ctx)
	case edge.MasterKindDocuments:
		for _, dep := range d.depots {
			docs, newest, err := readDocuments(ctx, d.c, dep, d.log)
			if err != nil {
				return nil, err
			}
			set, err := masterPayload(newest, func(v string) any { return edge.MasterDocuments{V: 1, Version: v, Documents: docs} }, docs)
			if err != nil {
				return nil, err
			}
			out[dep.ID] = set
		}
	case edge.MasterKindOperators:
		for _, dep := range d.depots {
			ops := append([]edge.Operator{}, dep.Operators...)
			sort.Slice(ops, func(i, j int) bool { return ops[i].Badge < ops[j].Badge })
			set, err := masterPayload("config", func(v string) any { return edge.MasterOperators{V: 1, Version: v, Operators: ops} }, ops)
			if err != nil {
				return nil, err
			}
			out[dep.ID] = set
		}
	}
	return out, nil
}

// masterPayload makes the version (the newest write_date, "#", a hash of the content) and
// the payload around it.
func masterPayload(newest string, wrap func(version string) any, content any) (masterSet, error) {
	raw, err := json.Marshal(content)
	if err != nil {
		return masterSet{}, err
	}
	sum := sha256.Sum256(raw)
	v := newest + "#" + hex.EncodeToString(sum[:6])
	payload, err := json.Marshal(wrap(v))
	if err != nil {
		return masterSet{}, err
	}
	return masterSet{version: v, payload: payload}, nil
}

// publishMasters publishes sets to the depots whose last published version differs.
func (d *Downlink) publishMasters(ctx context.Context, kind string, sets map[string]masterSet) error {
	var errs []error
	changed := false
	for _, dep := range d.depots {
		set := sets[dep.ID]
		d.mu.Lock()
		have := d.published[dep.ID][kind]
		d.mu.Unlock()
		if have == set.version {
			continue
		}
		if err := d.pub.Publish(ctx, dep.ID, "master/"+kind, true, set.payload); err != nil {
			errs = append(errs, fmt.Errorf("depot %s master/%s: %w", dep.ID, kind, err))
			continue
		}
		d.mu.Lock()
		if d.published[dep.ID] == nil {
			d.published[dep.ID] = map[string]string{}
		}
		d.published[dep.ID][kind] = set.version
		d.stats[dep.ID].Published[kind]++
		d.mu.Unlock()
		changed = true
		d.log.Info("erp master data published", "depot", dep.ID, "kind", kind, "version", set.version, "bytes", len(set.payload))
	}
	if changed {
		if err := d.save(); err != nil {
			errs = append(errs, fmt.Errorf("save %s: %w", d.state, err))
		}
	}
	return errors.Join(errs...)
}
