package erpcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/uplink"
)

// TopicOwner is the suffix of a depot's retained ownership claim, {prefix}owner.
const TopicOwner = "owner"

// Claim is the retained payload of {prefix}owner: which connector instance (its MQTT
// client id) serves the depot, renewed every ClaimEvery. An empty retained payload
// releases the depot (a clean stop).
type Claim struct {
	V     int    `json:"v"`
	Owner string `json:"owner"`
	At    string `json:"at"`
	// LeaseS is how long after At the claim holds without renewal (Config.Lease).
	LeaseS float64 `json:"lease_s"`
}

// Ownership. The depots an instance serves are configured (Config.Depots, the depots of
// erp.yaml): a partition of the fleet across instances. A partition that overlaps would let
// two instances apply one depot's seqs concurrently, out of order, so each instance claims
// its depots with a retained message and watches the claims:
//
//   - a fresh claim by another instance whose client id sorts before ours fences the depot
//     here: nothing is applied, acknowledged or asked of it, and an error names the
//     overlap; the claim's lease running out (that instance stopped or died) lifts the
//     fence, and this instance reads the ERP's applied seq again and takes the depot over;
//   - a fresh claim by one that sorts after ours is logged too, ours is published again so
//     that the retained claim is ours (that instance fences itself), and the ERP's applied
//     seq is read again: that instance may have taken the depot over while this one was
//     cut off from the broker.
//
// Until the claims have crossed (a second or so after two overlapping instances start
// together) both may apply: the ERP's idempotency keys and applied-seq check keep that from
// doubling or reordering anything in Odoo. Leases compare the claim's At with the local
// clock: instances' clocks must agree within a fraction of the lease (NTP).

// maxLease bounds a claim's lease: a claim that would hold a depot for longer is refused
// rather than fence it for days.
const maxLease = time.Hour

// ParseClaim decodes and checks a claim (v 1, an owner, an RFC 3339 at, a lease of at most
// an hour) and returns it with the end of its lease.
func ParseClaim(payload []byte) (Claim, time.Time, error) {
	var cl Claim
	if err := json.Unmarshal(payload, &cl); err != nil {
		return Claim{}, time.Time{}, fmt.Errorf("claim: %w", err)
	}
	if cl.V != uplink.ProtocolVersion {
		return Claim{}, time.Time{}, fmt.Errorf("claim: v %d, want %d", cl.V, uplink.ProtocolVersion)
	}
	if cl.Owner == "" {
		return Claim{}, time.Time{}, errors.New("claim: no owner")
	}
	at, err := time.Parse(time.RFC3339Nano, cl.At)
	if err != nil {
		return Claim{}, time.Time{}, fmt.Errorf("claim: at: %w", err)
	}
	if !(cl.LeaseS > 0 && cl.LeaseS <= maxLease.Seconds()) {
		return Claim{}, time.Time{}, fmt.Errorf("claim: lease_s %v not in (0, %v]", cl.LeaseS, maxLease.Seconds())
	}
	return cl, at.Add(time.Duration(cl.LeaseS * float64(time.Second))), nil
}

// depotOfOwner returns the depot whose claim topic this is, or "" when it is not one
// (or no depots are configured: without a list there is no partition to guard).
func (c *Core) depotOfOwner(topic string) string {
	if len(c.cfg.Depots) == 0 {
		return ""
	}
	return c.depotOf(topic, TopicOwner)
}

func (c *Core) lease() time.Duration { return c.cfg.Lease }

// CheckLease says why a claim renewed every renew cannot have lease: the lease must
// outlast two renewals (one lost or late publish must not hand the depot over) and be at
// most an hour (ParseClaim refuses longer ones).
func CheckLease(renew, lease time.Duration) error {
	if lease <= 2*renew {
		return fmt.Errorf("lease %v must be more than twice the renewal interval %v", lease, renew)
	}
	if lease > maxLease {
		return fmt.Errorf("lease %v is more than %v", lease, maxLease)
	}
	return nil
}

// OwnershipConfig is the `ownership:` section of erp.yaml: how often an instance renews
// its claims and how long one holds.
type OwnershipConfig struct {
	Renew time.Duration `yaml:"renew"`
	Lease time.Duration `yaml:"lease"`
}

// ApplyDefaults fills the documented defaults: renew 10s, lease 3× renew.
func (o *OwnershipConfig) ApplyDefaults() {
	if o.Renew == 0 {
		o.Renew = 10 * time.Second
	}
	if o.Lease == 0 {
		o.Lease = 3 * o.Renew
	}
}

// Check reports every problem with its key path under path.
func (o *OwnershipConfig) Check(path string, report func(key, msg string)) {
	if o.Renew < 100*time.Millisecond || o.Renew > 10*time.Minute {
		report(path+".renew", fmt.Sprintf("%v: must be between 100ms and 10m", o.Renew))
		return
	}
	if err := CheckLease(o.Renew, o.Lease); err != nil {
		report(path+".lease", err.Error())
	}
}

// onOwner handles a claim seen on the broker (ours echoed back included).
func (c *Core) onOwner(id string, payload []byte) {
	c.mu.Lock()
	d := c.depots[id]
	c.mu.Unlock()
	if d == nil {
		return
	}
	if len(payload) == 0 {
		// Released by a clean stop: whoever fenced us is gone; take over now.
		d.mu.Lock()
		if d.fenced {
			d.fencedUntil = time.Time{}
		}
		d.mu.Unlock()
		select {
		case c.claimNow <- struct{}{}:
		default:
		}
		return
	}
	cl, until, err := ParseClaim(payload)
	if err != nil {
		c.log.Warn("erp ownership claim refused", "depot", id, "err", err)
		return
	}
	if cl.Owner == c.cfg.ClientID {
		return
	}
	if time.Now().After(until) {
		return // lapsed: that instance is gone
	}
	d.mu.Lock()
	yield := cl.Owner < c.cfg.ClientID
	was := d.fenced
	if yield {
		d.fenced, d.fencedBy, d.fencedUntil = true, cl.Owner, until
	}
	d.mu.Unlock()
	switch {
	case yield && !was:
		c.log.Error("erp depot also claimed by another connector instance: overlapping depot lists; this instance stops serving it while that claim holds",
			"depot", id, "other", cl.Owner, "lease_until", until.Format(time.RFC3339))
	case !yield:
		c.log.Error("erp depot also claimed by another connector instance: overlapping depot lists; this instance keeps it and the other yields",
			"depot", id, "other", cl.Owner)
		// The other may have applied seqs meanwhile (it took over while we were cut off):
		// read the ERP's applied seq again before the next one.
		d.mu.Lock()
		d.stale = true
		d.mu.Unlock()
		d.poke()
		c.publishClaim(d)
	}
}

// claimer renews the claims every ClaimEvery, and lifts fences whose lease ran out, until
// ctx ends.
func (c *Core) claimer(ctx context.Context) {
	if len(c.cfg.Depots) == 0 {
		return
	}
	t := time.NewTicker(c.cfg.ClaimEvery)
	defer t.Stop()
	for {
		c.claimRound()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.claimNow:
		}
	}
}

func (c *Core) claimRound() {
	c.mu.Lock()
	ds := make([]*depot, 0, len(c.depots))
	for _, d := range c.depots {
		ds = append(ds, d)
	}
	c.mu.Unlock()
	now := time.Now()
	for _, d := range ds {
		d.mu.Lock()
		lifted := d.fenced && now.After(d.fencedUntil)
		if lifted {
			d.fenced, d.stale = false, true
		}
		fenced, by := d.fenced, d.fencedBy
		d.mu.Unlock()
		if lifted {
			c.log.Warn("erp depot claim of the other instance lapsed: taking the depot over", "depot", d.id, "other", by)
			d.poke()
		}
		if !fenced {
			c.publishClaim(d)
		}
	}
}

func (c *Core) publishClaim(d *depot) {
	c.mu.Lock()
	cl := c.client
	c.mu.Unlock()
	if cl == nil || !cl.IsConnectionOpen() {
		return
	}
	body, _ := json.Marshal(Claim{V: uplink.ProtocolVersion, Owner: c.cfg.ClientID, At: time.Now().Format(time.RFC3339Nano), LeaseS: c.lease().Seconds()})
	cl.Publish(d.prefix+TopicOwner, 1, true, body) // not awaited: renewed every ClaimEvery
}

// release clears the claims this instance holds, so that an instance listing the same
// depots need not wait for the lease (a clean stop). Claims it does not hold are left.
func (c *Core) release() {
	c.mu.Lock()
	cl := c.client
	ds := make([]*depot, 0, len(c.depots))
	for _, d := range c.depots {
		ds = append(ds, d)
	}
	c.mu.Unlock()
	if cl == nil || !cl.IsConnectionOpen() || len(c.cfg.Depots) == 0 {
		return
	}
	var toks []mqtt.Token
	for _, d := range ds {
		d.mu.Lock()
		fenced := d.fenced
		d.mu.Unlock()
		if !fenced {
			toks = append(toks, cl.Publish(d.prefix+TopicOwner, 1, true, []byte{}))
		}
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, t := range toks {
		t.WaitTimeout(max(time.Until(deadline), 0))
	}
}

// markStale makes every listed depot's worker read the ERP's applied seq again before its
// next seq: while this instance was cut off, another listing the same depot may have taken
// it over (owner.go), and the seqs the broker queued for this session meanwhile would
// otherwise be handed to the ERP again. Set on connection loss, before the next
// connection can deliver anything.
func (c *Core) markStale() {
	if len(c.cfg.Depots) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.depots {
		d.mu.Lock()
		if d.known {
			d.stale = true
		}
		d.mu.Unlock()
		d.poke()
	}
}

// takeStale reports (once) that the fence was lifted and the watermark must be read again.
func (d *depot) takeStale() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stale
	d.stale = false
	return s
}
