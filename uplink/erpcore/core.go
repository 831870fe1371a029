// Package erpcore is the ERP end of the uplink protocol (uplink/PROTOCOL.md) without any
// ERP in it: it consumes each served depot's {prefix}tx messages, hands them to an
// Applier (Odoo's poster, or a simulator) strictly in seq order, and publishes the
// cumulative ack ({"upto_seq":N} with the rejections) on {prefix}ack only after the
// Applier said the seq was committed or rejected.
//
// # Contract
//
//   - Order and exactly once: a depot's seq N is handed to the Applier only after N-1 was
//     applied or rejected. A seq at or below the applied watermark (a QoS 1 redelivery, a
//     go-back-N resend, a replay) is never applied again; it makes the core repeat its
//     ack, since the depot resends only what it believes unacknowledged. The Applier must
//     itself be idempotent (Odoo's key in ir.model.data): the core's memory is lost on a
//     restart, the ERP's is not, so after a restart the Applier answers Duplicate.
//   - Batches: with Config.MaxBatch > 1 and a BatchApplier, the seqs already buffered
//     after the watermark (a backlog) go to the ERP in one call, consecutive and in
//     order, each still applied exactly once on its own; N is then handed together with
//     N-1 rather than after it, and the answers are recorded in seq order. A batch that
//     stops at a seq is acknowledged up to the seq before it and handed again from there.
//   - Gaps: a seq above watermark+1 is kept (up to Config.MaxBuffered per depot; beyond
//     that dropped) until the missing ones arrive. If the next seq has not arrived within
//     Config.GapWait, the core publishes {"cmd":"resend","from_seq":watermark+1} on the
//     depot's cmd topic (at most once per GapWait), and also once on every connect for
//     each depot whose watermark it knows, so a connector restart does not wait for the
//     depot's go-back-N timer.
//   - Rejections: an Applier result Rejected (a refusal that is the data's fault, recorded
//     by the Applier as processed without a movement) advances the watermark like an
//     applied seq and is listed in acks, with its code and message, until an ack
//     carrying it was accepted by the broker (PUBACK); the depot records each once.
//   - Errors: an Apply error is never acknowledged and never skipped. The same seq is
//     tried again with backoff: from Config.RetryMin doubling to Config.RetryMax when
//     Retryable says retrying can help, at RetryMax otherwise (a wrong API key, a depot
//     Odoo does not know: fixed by an operator, picked up without a restart).
//   - Poison: a tx payload that is not a JSON object with "v":1, this depot and a seq is
//     logged, counted (Stats.Malformed) and dropped; it never stalls the depot.
//   - Ownership: with a depot list, the core claims each listed depot on {prefix}owner
//     (retained) and stands back from one another instance already claims, or takes it
//     over when that claim lapses (owner.go): a partition of the fleet across instances
//     that overlaps is refused where it is seen, not trusted.
//   - Independence: each depot has its own goroutine (its worker), its own retry loop and
//     its own context; a depot stuck on a failing seq holds up no other.
//   - Downlink: Config.Between runs on a depot's worker between two of its Apply calls
//     (after each processed seq, and when woken by Core.Wake), so what it reads of the
//     ERP is exactly as of the watermark; Core.Publish sends on the core's connection;
//     Config.Request receives the depot's {prefix}request messages, Config.Proposal its
//     {prefix}proposal messages.
//
// # Concurrency
//
// Run owns every goroutine it starts (paho's, one worker per depot and the acker) and
// returns after they stopped. When its context ends no new seq is started; an Apply in
// flight may finish within Config.DrainTimeout and is then acknowledged. MQTT messages are only filed by paho's router goroutine (a map insert);
// Apply runs on the depot's worker. Stats is safe for concurrent use.
package erpcore

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
)

// Status is what an Applier did with one seq.
type Status int

const (
	// Applied: committed now.
	Applied Status = iota + 1
	// Rejected: refused for the data's fault and recorded as processed without a
	// movement, now. Result.Code and Result.Message say why.
	Rejected
	// Duplicate: the ERP had processed this seq before (applied, or rejected: then Code
	// and Message are set when the ERP still knows them). Nothing changed.
	Duplicate
	// Voided: a void entry (a seq a depot restore skipped), recorded as processed without
	// a movement.
	Voided
	// Gap: the ERP's own applied seq (Result.AppliedSeq) is below seq-1: the core's
	// watermark was ahead of the ERP's (a restored ERP database). Nothing changed; the
	// core steps back to AppliedSeq and asks the depot to resend.
	Gap
)

func (s Status) String() string {
	switch s {
	case Applied:
		return "applied"
	case Rejected:
		return "rejected"
	case Duplicate:
		return "duplicate"
	case Voided:
		return "voided"
	case Gap:
		return "gap"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// Tx is one transaction as it came off the wire.
type Tx struct {
	Depot   string
	Seq     uint64
	Type    string // the transaction's "type" (edge.TxType, or "void")
	Replay  bool
	Payload []byte    // the whole message, envelope included
	At      time.Time // when the core received it
}

// Transaction decodes the payload as the journal's transaction (Seq set).
func (t Tx) Transaction() (edge.Transaction, error) {
	var tx edge.Transaction
	if err := json.Unmarshal(t.Payload, &tx); err != nil {
		return tx, fmt.Errorf("decode depot %s seq %d: %w", t.Depot, t.Seq, err)
	}
	tx.Seq = t.Seq
	return tx, nil
}

// Result is an Applier's answer.
type Result struct {
	Status     Status
	Code       string // Rejected (and Duplicate of a rejected seq)
	Message    string
	AppliedSeq uint64 // the ERP's applied seq after the call, when it says (0: unknown)
}

// Applier applies one depot's transactions. Apply is called for a depot by one goroutine
// at a time, in seq order; different depots' calls run concurrently.
type Applier interface {
	// AppliedSeq returns the depot's applied seq as the ERP holds it (0 when nothing was
	// applied). The core asks once when a depot's worker starts, retrying errors.
	AppliedSeq(ctx context.Context, depot string) (uint64, error)
	// Apply applies tx exactly once (see Status). An error means nothing is known to have
	// been committed and the core will call again with the same tx.
	Apply(ctx context.Context, tx Tx) (Result, error)
}

// BatchApplier is an Applier that can apply several consecutive seqs of one depot in one
// call to the ERP (Config.MaxBatch), each still exactly once and all or nothing.
type BatchApplier interface {
	Applier
	// ApplyBatch applies txs, consecutive seqs of one depot in order, as Apply would one
	// by one. The results are for a prefix of txs, in order, each committed (or rejected)
	// in the ERP. With an error, the txs after that prefix are not known to be committed:
	// the core hands them again, from the first of them.
	ApplyBatch(ctx context.Context, txs []Tx) ([]Result, error)
}

// Config configures a Core. Brokers and Applier are required.
type Config struct {
	Brokers   []string
	ClientID  string // default "depotd-erp"
	Username  string
	Password  string
	TLS       *tls.Config // for ssl://, tls://, mqtts://, wss:// brokers
	KeepAlive time.Duration
	// TopicPrefix is the depots' uplink.topic_prefix, with {depot_id}. Default
	// "depots/{depot_id}/".
	TopicPrefix string
	// Depots are the depots served: each gets its own subscription and worker from the
	// start. Empty: serve any depot that publishes (a worker per depot on first sight),
	// through the wildcard {prefix with +}tx.
	Depots []string
	// CleanSession makes the broker forget the subscription between connections (the
	// simulator). The default keeps a persistent session: tx messages published while the
	// connector is down are queued.
	CleanSession bool
	Applier      Applier
	// Retryable says whether an Apply error may go away by itself; default: every error.
	Retryable func(error) bool
	// RetryMin and RetryMax bound the backoff between attempts; defaults 200ms and 60s.
	RetryMin, RetryMax time.Duration
	// AckInterval is the longest a processed seq waits for its ack to be published
	// (default 20ms): acks of seqs processed meanwhile are one message.
	AckInterval time.Duration
	// MaxBatch is the most seqs of a depot handed to a BatchApplier in one call: those
	// already buffered, in order, after the watermark (a backlog draining), never waiting
	// for more. Default 1: one seq per call.
	MaxBatch int
	// MaxBuffered bounds the seqs kept ahead of a depot's watermark (default 10000).
	MaxBuffered int
	// GapWait is how long a missing next seq is waited for before asking for a resend
	// (default 2s).
	GapWait time.Duration
	// DrainTimeout is how long an Apply in flight when Run's context ends may still take
	// (default 10s); its answer is then acknowledged. After it the call is cancelled.
	DrainTimeout time.Duration
	// Between, when set, is called on a depot's worker while none of that depot's seqs is
	// in flight: after each processed seq and whenever the worker wakes (a tx, Core.Wake)
	// with nothing to apply. applied is the watermark: the depot's next Apply waits until
	// Between returns, so what the ERP holds for the depot is exactly as of that seq
	// (the stock snapshot's applied_seq).
	Between func(ctx context.Context, depot string, applied uint64)
	// Request, when set, receives each valid upstream request of a served depot
	// ({prefix}request, PROTOCOL.md). It runs on paho's router and must not block.
	Request func(depot string, r uplink.Request)
	// Proposal, when set, receives the payload of each {prefix}proposal message of a served
	// depot (PROTOCOL.md). It runs on paho's router, and the message is acknowledged to the
	// broker when it returns: it must keep the payload durably, quickly, before returning.
	Proposal func(depot string, payload []byte)
	// ClaimEvery is how often the instance renews its retained ownership claim of each
	// listed depot (owner.go; default 10s).
	ClaimEvery time.Duration
	// Lease is how long a claim of this instance holds without renewal (default 3×
	// ClaimEvery; more than 2× ClaimEvery, so that one lost renewal does not hand the
	// depot over, and at most an hour). Once it lapsed another instance listing the depot
	// may take it over: a shorter lease hands a dead instance's depots over sooner.
	Lease time.Duration
	Log   *slog.Logger
}

// Stats counts what the core saw for one depot.
type Stats struct {
	Applied    uint64 // the watermark: every seq ≤ Applied was processed
	Received   uint64 // tx messages
	Duplicates uint64 // at or below the watermark when received (re-acked)
	Replays    uint64 // carrying replay:true
	Dropped    uint64 // above the watermark and beyond MaxBuffered
	Malformed  uint64 // poison: not v 1, not this depot, no seq, not JSON
	Processed  uint64 // handed to the Applier and answered Applied/Rejected/Duplicate/Voided
	Rejected   uint64 // answered Rejected (now)
	Errors     uint64 // Apply errors (each retried)
	AcksSent   uint64 // acks the broker accepted
	Resends    uint64 // resend commands the broker accepted
	Highest    uint64 // the highest seq received
	// Waiting is when the oldest seq received but not processed yet arrived (zero when
	// none waits): the lag in time.
	Waiting time.Time
}

// Core is the consumer. Make it with New, then Run it once.
type Core struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	depots  map[string]*depot
	client  mqtt.Client
	started bool

	// spawn starts a depot worker under Run's wait group; nil outside Run.
	spawn    func(*depot)
	kick     chan struct{} // wakes the acker
	claimNow chan struct{} // wakes the claimer (on connect)
}

type depot struct {
	id     string
	prefix string
	wake   chan struct{}

	mu         sync.Mutex
	known      bool   // applied was read from the Applier
	applied    uint64 // the watermark
	buf        map[uint64]Tx
	reack      bool
	rejections []edge.Rejection // processed as rejected, not yet in an accepted ack
	stats      Stats
	gapSince   time.Time // when a buffered seq first waited on a missing one
	lastResend time.Time
	resendNow  bool // on (re)connect
	busy       bool // the worker holds a seq taken from buf
	busyAt     time.Time

	// Ownership (owner.go): while another instance's fresh claim outranks ours the depot
	// is fenced: nothing is applied, acknowledged or asked for. stale makes the worker
	// read the ERP's applied seq again once the fence lifts (the other instance moved it).
	fenced      bool
	fencedBy    string
	fencedUntil time.Time
	stale       bool
}

// New checks cfg and returns a Core.
func New(cfg Config) (*Core, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("erpcore: at least one broker is required")
	}
	if cfg.Applier == nil {
		return nil, errors.New("erpcore: an Applier is required")
	}
	if cfg.ClientID == "" {
		cfg.ClientID = uplink.DefaultERPClientID
	}
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = uplink.DefaultTopicPrefix
	}
	if strings.Count(cfg.TopicPrefix, "{depot_id}") != 1 {
		return nil, fmt.Errorf("erpcore: topic prefix %q must hold {depot_id} once", cfg.TopicPrefix)
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = uplink.DefaultKeepAlive
	}
	if cfg.Retryable == nil {
		cfg.Retryable = func(error) bool { return true }
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 200 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 60 * time.Second
	}
	cfg.RetryMax = max(cfg.RetryMax, cfg.RetryMin)
	if cfg.AckInterval <= 0 {
		cfg.AckInterval = 20 * time.Millisecond
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1
	}
	if cfg.MaxBuffered <= 0 {
		cfg.MaxBuffered = 10000
	}
	if cfg.GapWait <= 0 {
		cfg.GapWait = 2 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.ClaimEvery <= 0 {
		cfg.ClaimEvery = 10 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 3 * cfg.ClaimEvery
	}
	if err := CheckLease(cfg.ClaimEvery, cfg.Lease); err != nil {
		return nil, fmt.Errorf("erpcore: %w", err)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	c := &Core{cfg: cfg, log: cfg.Log, depots: map[string]*depot{}, kick: make(chan struct{}, 1), claimNow: make(chan struct{}, 1)}
	for _, id := range cfg.Depots {
		if id == "" || strings.ContainsAny(id, "/+#") {
			return nil, fmt.Errorf("erpcore: depot id %q cannot be a topic level", id)
		}
		if _, dup := c.depots[id]; dup {
			return nil, fmt.Errorf("erpcore: depot %s listed twice", id)
		}
		c.depots[id] = c.newDepot(id)
	}
	return c, nil
}

func (c *Core) newDepot(id string) *depot {
	return &depot{id: id, prefix: strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", id),
		wake: make(chan struct{}, 1), buf: map[uint64]Tx{}}
}

// Stats returns the counters of a depot (zero for one never seen).
func (c *Core) Stats(depotID string) Stats {
	c.mu.Lock()
	d := c.depots[depotID]
	c.mu.Unlock()
	if d == nil {
		return Stats{}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.Applied = d.applied
	if d.busy {
		s.Waiting = d.busyAt
	}
	for seq, tx := range d.buf {
		if seq > d.applied && (s.Waiting.IsZero() || tx.At.Before(s.Waiting)) {
			s.Waiting = tx.At
		}
	}
	return s
}

// ErrOffline is Publish's error while the broker is not connected.
var ErrOffline = errors.New("erpcore: not connected to the broker")

// Publish sends payload on the depot's {prefix}suffix at QoS 1 and waits for the broker
// to accept it (PUBACK), ctx or 10s. It is the downlink's way out (master data, stock
// snapshots) over the core's own connection.
func (c *Core) Publish(ctx context.Context, depot, suffix string, retained bool, payload []byte) error {
	c.mu.Lock()
	cl := c.client
	c.mu.Unlock()
	if cl == nil || !cl.IsConnectionOpen() {
		return ErrOffline
	}
	topic := strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", depot) + suffix
	t := cl.Publish(topic, 1, retained, payload)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case <-t.Done():
		if err := t.Error(); err != nil {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("publish %s: %w", topic, ctx.Err())
	}
}

// Online reports whether the broker connection is up.
func (c *Core) Online() bool {
	c.mu.Lock()
	cl := c.client
	c.mu.Unlock()
	return cl != nil && cl.IsConnectionOpen()
}

// Wake makes a depot's worker run Config.Between soon, between two of its postings.
func (c *Core) Wake(depot string) {
	c.mu.Lock()
	d := c.depots[depot]
	c.mu.Unlock()
	if d != nil {
		d.poke()
	}
}

func (d *depot) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// filters are the subscriptions: one per served depot, or the wildcard.
func (c *Core) filters() map[string]byte {
	f := map[string]byte{}
	if len(c.cfg.Depots) == 0 {
		f[strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", "+")+uplink.TopicTx] = 1
		return f
	}
	for _, id := range c.cfg.Depots {
		f[strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", id)+uplink.TopicTx] = 1
		if c.cfg.Request != nil {
			f[strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", id)+uplink.TopicRequest] = 1
		}
		if c.cfg.Proposal != nil {
			f[strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", id)+uplink.TopicProposal] = 1
		}
		// QoS 0: a claim is retained, so a (re)subscription gets the current one anyway,
		// and on NATS a QoS 0 subscription costs no JetStream consumer.
		f[strings.ReplaceAll(c.cfg.TopicPrefix, "{depot_id}", id)+TopicOwner] = 0
	}
	return f
}

// depotOf returns the depot id a topic with the given suffix names, or "" when it is not
// such a topic of the prefix.
func (c *Core) depotOf(topic, suffix string) string {
	before, after, _ := strings.Cut(c.cfg.TopicPrefix, "{depot_id}")
	rest, ok := strings.CutPrefix(topic, before)
	if !ok {
		return ""
	}
	rest, ok = strings.CutSuffix(rest, after+suffix)
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return ""
	}
	return rest
}

// Run connects (paho's reconnect: brokers round robin, resubscribing on every connect)
// and serves until ctx ends. It returns nil on cancellation; an error only when it could
// not start.
func (c *Core) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("erpcore: Run called twice")
	}
	c.started = true
	c.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Apply calls outlive ctx by up to DrainTimeout: a call in flight at shutdown gets to
	// finish and be acknowledged rather than leave its outcome unknown.
	applyCtx, cancelApply := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelApply()
	var wg sync.WaitGroup
	spawn := func(d *depot) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx, applyCtx, d)
		}()
	}
	filters := c.filters() // fixed by cfg: made once, not on every (re)subscribe
	opts := mqtt.NewClientOptions().
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetCleanSession(c.cfg.CleanSession).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(500 * time.Millisecond).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(c.cfg.KeepAlive).
		SetWriteTimeout(10 * time.Second).
		SetOrderMatters(true).
		SetResumeSubs(false).
		SetCustomOpenConnectionFn(uplink.OpenConn).
		SetDefaultPublishHandler(c.onMessage).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.log.Warn("erp mqtt connection lost", "err", err)
			c.markStale()
		}).
		SetOnConnectHandler(func(cl mqtt.Client) {
			// paho runs this in its own goroutine: waiting on the token is fine here.
			// Without the subscription nothing arrives: try until it works or the
			// connection ends (paho then connects again and calls this again).
			var t mqtt.Token
			for {
				t = cl.SubscribeMultiple(filters, c.onMessage)
				if t.WaitTimeout(30*time.Second) && t.Error() == nil {
					break
				}
				c.log.Error("erp mqtt subscribe failed: trying again", "err", errOr(t.Error(), "timed out"))
				time.Sleep(time.Second)
				if !cl.IsConnectionOpen() {
					return
				}
			}
			// paho completes the token without error when the broker refuses a filter
			// (SUBACK 0x80): an ACL, or NATS's per-session budget of unacknowledged
			// deliveries (each QoS 1 subscription reserves mqtt.max_ack_pending of 65535).
			// Those depots would go unserved without a word: say which, and how to fix it.
			if refused := refusedFilters(t); len(refused) > 0 {
				c.log.Error("erp mqtt subscriptions refused by the broker: those depots are not served; check the broker's ACL, and on NATS that mqtt.max_ack_pending × depots per instance ≤ 65535",
					"refused", len(refused), "filters", len(filters), "first", refused[0])
			}
			c.log.Info("erp mqtt online: subscribed", "filters", len(filters))
			select {
			case c.claimNow <- struct{}{}:
			default:
			}
			c.mu.Lock()
			for _, d := range c.depots {
				d.mu.Lock()
				d.resendNow = true
				d.mu.Unlock()
				d.poke()
			}
			c.mu.Unlock()
		})
	if c.cfg.TLS != nil {
		opts.SetTLSConfig(c.cfg.TLS.Clone())
	}
	for _, b := range c.cfg.Brokers {
		opts.AddBroker(b)
	}
	cl := mqtt.NewClient(opts)
	c.mu.Lock()
	c.client = cl
	c.spawn = spawn
	for _, d := range c.depots {
		spawn(d)
	}
	c.mu.Unlock()
	ct := cl.Connect()
	ackCtx, stopAcker := context.WithCancel(context.Background())
	ackerDone := make(chan struct{})
	go func() {
		defer close(ackerDone)
		c.acker(ackCtx)
	}()
	ownerDone := make(chan struct{})
	go func() {
		defer close(ownerDone)
		c.claimer(ctx)
	}()

	<-ctx.Done()
	// Workers stop first (they start no new seq; an Apply in flight may finish within
	// DrainTimeout), then the acker (its last round acknowledges what they finished), then
	// the client.
	c.mu.Lock()
	c.spawn = nil
	c.mu.Unlock()
	drain := time.AfterFunc(c.cfg.DrainTimeout, cancelApply)
	wg.Wait()
	drain.Stop()
	stopAcker()
	<-ackerDone
	<-ownerDone
	c.release()
	ct.WaitTimeout(time.Second)
	cl.Disconnect(500)
	c.log.Info("erp consumer stopped")
	return nil
}

// refusedFilters returns, sorted, the filters a SUBACK refused (return code 0x80).
func refusedFilters(t mqtt.Token) []string {
	st, ok := t.(*mqtt.SubscribeToken)
	if !ok {
		return nil
	}
	var out []string
	for f, code := range st.Result() {
		if code >= 0x80 {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

type txHead struct {
	V      *int   `json:"v"`
	Depot  string `json:"depot"`
	Seq    uint64 `json:"seq"`
	Type   string `json:"type"`
	Replay bool   `json:"replay"`
}

// onMessage files one tx message with its depot. It runs on paho's router and never
// blocks on anything but the depot's mutex.
func (c *Core) onMessage(_ mqtt.Client, m mqtt.Message) {
	if id := c.depotOfOwner(m.Topic()); id != "" {
		c.onOwner(id, m.Payload())
		return
	}
	if id := c.depotOf(m.Topic(), uplink.TopicRequest); id != "" && c.cfg.Request != nil {
		c.onRequest(id, m)
		return
	}
	if id := c.depotOf(m.Topic(), uplink.TopicProposal); id != "" && c.cfg.Proposal != nil {
		c.cfg.Proposal(id, append([]byte(nil), m.Payload()...))
		return
	}
	id := c.depotOf(m.Topic(), uplink.TopicTx)
	if id == "" {
		c.log.Warn("erp message on an unexpected topic dropped", "topic", m.Topic())
		return
	}
	c.mu.Lock()
	d := c.depots[id]
	if d == nil && len(c.cfg.Depots) == 0 && c.spawn != nil {
		d = c.newDepot(id)
		c.depots[id] = d
		c.spawn(d)
	}
	c.mu.Unlock()
	if d == nil {
		c.log.Warn("erp tx of a depot not served dropped", "depot", id)
		return
	}
	payload := append([]byte(nil), m.Payload()...)
	var h txHead
	err := json.Unmarshal(payload, &h)
	switch {
	case err != nil:
	case h.V == nil || *h.V != uplink.ProtocolVersion:
		err = fmt.Errorf("v %s, want %d", fmtV(h.V), uplink.ProtocolVersion)
	case h.Depot != id:
		err = fmt.Errorf("depot %q on the topic of %s", h.Depot, id)
	case h.Seq == 0:
		err = errors.New("no seq")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stats.Received++
	if err != nil {
		d.stats.Malformed++
		c.log.Warn("erp poison tx dropped", "depot", id, "topic", m.Topic(), "err", err, "bytes", len(payload))
		return
	}
	if h.Replay {
		d.stats.Replays++
	}
	d.stats.Highest = max(d.stats.Highest, h.Seq)
	switch {
	case d.known && h.Seq <= d.applied:
		d.stats.Duplicates++
		d.reack = true
	case d.known && h.Seq > d.applied+uint64(c.cfg.MaxBuffered):
		d.stats.Dropped++
		return
	case !d.known && len(d.buf) >= c.cfg.MaxBuffered:
		d.stats.Dropped++
		return
	default:
		d.buf[h.Seq] = Tx{Depot: id, Seq: h.Seq, Type: h.Type, Replay: h.Replay, Payload: payload, At: time.Now()}
	}
	d.poke()
}

// onRequest hands a served depot's valid request to Config.Request.
func (c *Core) onRequest(id string, m mqtt.Message) {
	c.mu.Lock()
	_, served := c.depots[id]
	c.mu.Unlock()
	r, err := uplink.ParseRequest(m.Payload())
	switch {
	case !served:
		c.log.Warn("erp request of a depot not served dropped", "depot", id)
	case err != nil:
		c.log.Warn("erp request refused", "depot", id, "topic", m.Topic(), "err", err)
	default:
		c.log.Info("erp request", "depot", id, "request", r.Request)
		c.cfg.Request(id, r)
	}
}

func fmtV(v *int) string {
	if v == nil {
		return "missing"
	}
	return fmt.Sprint(*v)
}

// work is a depot's worker: it reads the ERP's applied seq, then applies the next seq
// whenever it is there, acks, and asks for resends across gaps.
func (c *Core) work(ctx, applyCtx context.Context, d *depot) {
	log := c.log.With("depot", d.id)
	applied, ok := c.appliedSeq(ctx, d, log)
	if !ok {
		return
	}
	d.mu.Lock()
	d.applied, d.known = applied, true
	d.mu.Unlock()
	log.Info("erp depot ready", "applied_seq", applied)
	limit := c.cfg.MaxBatch
	if _, ok := c.cfg.Applier.(BatchApplier); !ok {
		limit = 1
	}
	c.kickAcker()
	for {
		if d.takeStale() {
			applied, ok := c.appliedSeq(ctx, d, log)
			if !ok {
				return
			}
			d.mu.Lock()
			d.applied = max(d.applied, applied)
			d.resendNow = true
			d.mu.Unlock()
			log.Info("erp depot taken over", "applied_seq", applied)
		}
		for ctx.Err() == nil {
			txs := d.next(limit)
			if len(txs) == 0 {
				break
			}
			if ba, ok := c.cfg.Applier.(BatchApplier); ok && limit > 1 {
				if !c.applyBatch(ctx, applyCtx, ba, d, txs, log) {
					return
				}
			} else if !c.apply(ctx, applyCtx, d, txs[0], log) {
				return
			}
			c.kickAcker()
			c.between(ctx, d)
		}
		c.kickAcker()
		c.between(ctx, d)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
	}
}

func (c *Core) between(ctx context.Context, d *depot) {
	if c.cfg.Between == nil || ctx.Err() != nil {
		return
	}
	d.mu.Lock()
	applied := d.applied
	d.mu.Unlock()
	c.cfg.Between(ctx, d.id, applied)
}

func (c *Core) kickAcker() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// acker publishes, for every depot that needs it, the ack and the resend command. It is
// apart from the workers so that a depot whose worker is busy in a long Apply (or its
// retries) still has its duplicates re-acknowledged, and one depot's ack never waits for
// another's; the PUBACKs of one round are awaited together.
func (c *Core) acker(ctx context.Context) {
	tick := time.NewTicker(c.cfg.AckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			// The workers are done: what they processed last is acknowledged once more.
			c.ackRound()
			return
		case <-c.kick:
		case <-tick.C:
		}
		c.ackRound()
	}
}

func (c *Core) ackRound() {
	c.mu.Lock()
	ds := make([]*depot, 0, len(c.depots))
	for _, d := range c.depots {
		ds = append(ds, d)
	}
	cl := c.client
	c.mu.Unlock()
	if cl == nil || !cl.IsConnectionOpen() {
		return
	}
	type sent struct {
		d      *depot
		ack    *edge.Ack
		ackTok mqtt.Token
		from   uint64
		gap    bool
		cmdTok mqtt.Token
	}
	var out []sent
	now := time.Now()
	for _, d := range ds {
		s := sent{d: d}
		d.mu.Lock()
		if d.fenced {
			d.mu.Unlock()
			continue
		}
		if d.reack && d.known && d.applied > 0 {
			s.ack = &edge.Ack{UptoSeq: d.applied, Rejected: append([]edge.Rejection(nil), d.rejections...)}
		}
		d.reack = false
		if _, next := d.buf[d.applied+1]; d.known && !d.busy && !next && len(d.buf) > 0 && d.gapSince.IsZero() {
			d.gapSince = now // a seq waits on a missing one
		}
		s.gap = !d.gapSince.IsZero() && now.Sub(d.gapSince) >= c.cfg.GapWait && now.Sub(d.lastResend) >= c.cfg.GapWait
		if d.known && (s.gap || d.resendNow) {
			s.from = d.applied + 1
			d.resendNow = false
		}
		d.mu.Unlock()
		if s.ack != nil {
			body, _ := json.Marshal(struct {
				V int `json:"v"`
				edge.Ack
			}{uplink.ProtocolVersion, *s.ack})
			s.ackTok = cl.Publish(d.prefix+uplink.TopicAck, 1, false, body)
		}
		if s.from > 0 {
			body, _ := json.Marshal(uplink.Command{V: uplink.ProtocolVersion, Cmd: "resend", FromSeq: s.from})
			s.cmdTok = cl.Publish(d.prefix+uplink.TopicCmd, 1, false, body)
		}
		if s.ackTok != nil || s.cmdTok != nil {
			out = append(out, s)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	ok := func(t mqtt.Token) bool { return t.WaitTimeout(max(time.Until(deadline), 0)) && t.Error() == nil }
	for _, s := range out {
		d := s.d
		if s.ackTok != nil {
			good := ok(s.ackTok)
			d.mu.Lock()
			if good {
				d.stats.AcksSent++
				// Rejections carried by an accepted ack are the broker's to deliver now.
				n := 0
				for _, r := range d.rejections {
					if !containsSeq(s.ack.Rejected, r.Seq) {
						d.rejections[n] = r
						n++
					}
				}
				d.rejections = d.rejections[:n]
			} else {
				d.reack = true // again on the next round
				c.log.Debug("erp ack not accepted by the broker", "depot", d.id, "upto_seq", s.ack.UptoSeq, "err", s.ackTok.Error())
			}
			d.mu.Unlock()
		}
		if s.cmdTok != nil {
			good := ok(s.cmdTok)
			d.mu.Lock()
			if good {
				d.lastResend = now
				d.gapSince = time.Time{}
				d.stats.Resends++
			} else if !s.gap {
				d.resendNow = true
			}
			d.mu.Unlock()
			if good && s.gap {
				c.log.Info("erp gap: asked the depot to resend", "depot", d.id, "from_seq", s.from)
			} else if good {
				c.log.Debug("erp asked the depot to resend", "depot", d.id, "from_seq", s.from)
			}
		}
	}
}

func (c *Core) appliedSeq(ctx context.Context, d *depot, log *slog.Logger) (uint64, bool) {
	for attempt := 0; ; attempt++ {
		seq, err := c.cfg.Applier.AppliedSeq(ctx, d.id)
		if err == nil {
			return seq, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		wait := c.backoff(attempt, err)
		log.Error("erp cannot read the depot's applied seq: retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
		if !sleep(ctx, wait) {
			return 0, false
		}
	}
}

// next takes up to limit consecutive seqs after the watermark from the buffer, dropping
// what fell below it.
func (d *depot) next(limit int) []Tx {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fenced || d.stale {
		return nil
	}
	for s := range d.buf {
		if s <= d.applied {
			// Filed before the watermark was known, or passed since: a duplicate.
			delete(d.buf, s)
			d.stats.Duplicates++
			d.reack = true
		}
	}
	var txs []Tx
	for seq := d.applied + 1; len(txs) < limit; seq++ {
		tx, ok := d.buf[seq]
		if !ok {
			break
		}
		delete(d.buf, seq)
		txs = append(txs, tx)
	}
	d.busy = len(txs) > 0
	if d.busy {
		d.busyAt = txs[0].At
		d.gapSince = time.Time{}
	} else if len(d.buf) > 0 && d.gapSince.IsZero() {
		d.gapSince = time.Now()
	}
	return txs
}

// putBack returns seqs taken by next but not processed to the buffer (a seq received
// again meanwhile is kept as received).
func (d *depot) putBack(txs []Tx) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, tx := range txs {
		if _, ok := d.buf[tx.Seq]; !ok && tx.Seq > d.applied {
			d.buf[tx.Seq] = tx
		}
	}
	d.busy = false
}

// applyBatch hands txs to the BatchApplier in one call until every one is answered,
// recording each answer in order as it comes and handing again only what was not
// answered; false when ctx ended first.
func (c *Core) applyBatch(ctx, applyCtx context.Context, ba BatchApplier, d *depot, txs []Tx, log *slog.Logger) bool {
	for attempt := 0; ; {
		start := time.Now()
		rs, err := ba.ApplyBatch(applyCtx, txs)
		took := time.Since(start)
		if len(rs) > len(txs) {
			rs, err = nil, fmt.Errorf("applier answered %d results for %d seqs", len(rs), len(txs))
		}
		for i, res := range rs {
			if res.Status < Applied || res.Status > Gap {
				rs, err = rs[:i], fmt.Errorf("applier answered an unknown status %d for seq %d", res.Status, txs[i].Seq)
				break
			}
		}
		for i, res := range rs {
			c.record(d, txs[i], res, took, log)
			if res.Status == Gap {
				// The watermark stepped back: what follows waits for the resend.
				d.putBack(txs[i+1:])
				return true
			}
		}
		txs = txs[len(rs):]
		if len(txs) == 0 {
			return true
		}
		if len(rs) > 0 {
			attempt = 0 // progress: the backoff starts again
			c.kickAcker()
			d.mu.Lock()
			d.busy, d.busyAt = true, txs[0].At
			d.mu.Unlock()
		}
		if err == nil {
			err = fmt.Errorf("applier answered %d results for %d seqs", len(rs), len(rs)+len(txs))
		}
		if ctx.Err() != nil {
			return false
		}
		d.mu.Lock()
		d.stats.Errors++
		d.mu.Unlock()
		wait := c.backoff(attempt, err)
		attempt++
		log.Warn("erp apply failed: retrying from the same seq", "seq", txs[0].Seq, "type", txs[0].Type, "batch", len(txs),
			"attempt", attempt, "retryable", c.cfg.Retryable(err), "retry_in", wait.Round(time.Millisecond), "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// apply hands tx to the Applier (under applyCtx) until it answers; false when ctx ended
// first without an answer.
func (c *Core) apply(ctx, applyCtx context.Context, d *depot, tx Tx, log *slog.Logger) bool {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		res, err := c.cfg.Applier.Apply(applyCtx, tx)
		took := time.Since(start)
		if err == nil && (res.Status < Applied || res.Status > Gap) {
			err = fmt.Errorf("applier answered an unknown status %d", res.Status)
		}
		if err == nil {
			c.record(d, tx, res, took, log)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		d.mu.Lock()
		d.stats.Errors++
		d.mu.Unlock()
		wait := c.backoff(attempt, err)
		// One line per attempt: the backoff itself bounds how often it is written.
		log.Warn("erp apply failed: retrying the same seq", "seq", tx.Seq, "type", tx.Type, "attempt", attempt+1,
			"retryable", c.cfg.Retryable(err), "retry_in", wait.Round(time.Millisecond), "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

func (c *Core) record(d *depot, tx Tx, res Result, took time.Duration, log *slog.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy = false
	switch res.Status {
	case Applied, Rejected, Duplicate, Voided:
		d.applied = tx.Seq
		d.stats.Processed++
		d.reack = true
		if res.Status == Rejected {
			d.stats.Rejected++
		}
		if res.Code != "" && (res.Status == Rejected || res.Status == Duplicate) {
			d.rejections = append(d.rejections, edge.Rejection{Seq: tx.Seq, Code: res.Code, Message: res.Message})
		}
		lvl := slog.LevelInfo
		if res.Status == Rejected {
			lvl = slog.LevelWarn
		}
		if res.Status == Duplicate && res.Code == "" {
			lvl = slog.LevelDebug
		}
		attrs := []any{"seq", tx.Seq, "type", tx.Type, "replay", tx.Replay, "took", took.Round(time.Millisecond)}
		if res.Code != "" {
			attrs = append(attrs, "code", res.Code, "message", res.Message)
		}
		log.Log(context.Background(), lvl, "erp "+res.Status.String(), attrs...)
	case Gap:
		// The ERP is behind us: believe the ERP, and ask for what it lacks.
		log.Warn("erp applied seq is behind the consumer's: stepping back and asking for a resend",
			"seq", tx.Seq, "consumer_applied", d.applied, "erp_applied", res.AppliedSeq)
		d.applied = res.AppliedSeq
		d.buf[tx.Seq] = tx
		d.resendNow = true
	}
}

func (c *Core) backoff(attempt int, err error) time.Duration {
	if !c.cfg.Retryable(err) {
		return c.cfg.RetryMax
	}
	d := c.cfg.RetryMin << min(attempt, 20)
	if d <= 0 || d > c.cfg.RetryMax {
		d = c.cfg.RetryMax
	}
	// ±20% jitter so that depots retrying after one outage do not call in step.
	return d - d/5 + time.Duration(rand.Int64N(int64(d/5)*2+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func containsSeq(rs []edge.Rejection, seq uint64) bool {
	for _, r := range rs {
		if r.Seq == seq {
			return true
		}
	}
	return false
}
