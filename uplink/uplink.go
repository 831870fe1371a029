package uplink

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/edge"
)

// Journal is what the uplink needs of the journal; *edge.Journal satisfies it. The
// journal is the only truth: the uplink never removes anything itself, it only reports
// the ERP's acks through Ack.
type Journal interface {
	// ScanCheckpointed and Checkpointed follow the journal without making it checkpoint
	// for every commit: a busy depot's transactions reach the uplink in checkpoint-sized
	// steps (see edge.Options.CheckpointIdle).
	ScanCheckpointed(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error
	Checkpointed() <-chan struct{}
	Positions() (last, acked uint64)
	Ack(a edge.Ack) (edge.AckResult, error)
	NextSession() (uint64, error)
	Status() (edge.Status, error)
	PutMaster(kind string, payload []byte) (version string, err error)
	ApplyStockSnapshot(s edge.StockSnapshot) error
}

// MemoryReleaser is implemented by a Journal whose reads leave file pages mapped into the
// process (bbolt reads through mmap: a drain of a large backlog would otherwise count
// every page it read in the process's RSS, though the kernel may reclaim them). The
// forwarder calls ReleaseMemory after each releaseEvery bytes it has streamed.
type MemoryReleaser interface {
	ReleaseMemory() error
}

const releaseEvery = 8 << 20

// DeviceLister reports device states for the status message; nil means no devices.
type DeviceLister interface {
	DeviceStates() []DeviceStatus
}

// SyncHealthSource gives the status message's sync health summary (WithSyncHealth).
type SyncHealthSource interface {
	SyncHealth(ctx context.Context) (SyncHealth, error)
}

// syncHealthTimeout bounds how long a status message waits for its sync health figures:
// without them it goes out all the same.
const syncHealthTimeout = 5 * time.Second

// State is the uplink's state as the console shows it.
type State struct {
	Online    bool
	Since     time.Time // of the last online/offline change
	Broker    string    // the broker connected to, or last tried
	Session   uint64
	LastAckAt time.Time // last ack that moved the watermark
	LastError string    // why the last connection ended or failed
}

// Option adjusts an Uplink at construction.
type Option func(*Uplink)

// WithVersion sets the version reported in the status message (default: the module
// version from the build info).
func WithVersion(v string) Option { return func(u *Uplink) { u.version = v } }

// WithDataDir names the directory whose file system fill level is reported as
// disk_used_pct; without it the field is left out.
func WithDataDir(dir string) Option { return func(u *Uplink) { u.dataDir = dir } }

// WithSyncHealth adds the depot's sync health summary to the status message (PROTOCOL.md
// "sync"); without it the field is left out.
func WithSyncHealth(src SyncHealthSource) Option { return func(u *Uplink) { u.syncHealth = src } }

// Timing bounds that are not configuration: they follow DECISIONS.md.
const (
	reconnectMin = 500 * time.Millisecond
	reconnectMax = 30 * time.Second
	// reconnectHealthy is how long a connection must have stayed online (subscribed,
	// status published, forwarding) for the next reconnect to start again from
	// reconnectMin rather than go on from the backoff reached.
	reconnectHealthy = 10 * time.Second
	resendCap        = 60 * time.Second
	connectTimeout   = 10 * time.Second
	writeTimeout     = 10 * time.Second
	shutdownTimeout  = 3 * time.Second
	statusMinGap     = time.Second // "on change" status is rate-limited to one per second
	ackWarnEvery     = time.Minute // repeats of a suspicious ack are logged at most this often
)

// Uplink forwards the journal to the ERP over MQTT and applies the ERP's downlink.
type Uplink struct {
	s       settings
	depot   string
	j       Journal
	devs    DeviceLister
	log     *slog.Logger
	version string
	dataDir string
	tlsCfg  *tls.Config

	syncHealth    SyncHealthSource
	syncHealthLog time.Time // the last failure logged (at most one a minute)

	ackMoved chan struct{}
	cmds     chan Command
	asks     chan chan error // AskSnapshot's requests, served by the connection's loop
	ackMu    sync.Mutex      // serialises journal acks

	mu    sync.Mutex
	state State

	// Downlink handlers run on paho's goroutines; Run waits for them before it returns.
	hmu     sync.Mutex
	hclosed bool
	hwg     sync.WaitGroup

	// sentMax is the highest seq this process has sent: a later send of it is a replay. It
	// is set before the publish, so that an ack cannot overtake it.
	sentMax atomic.Uint64
	// startLast is last_seq when New ran: an earlier run may have sent up to there.
	startLast uint64
	// snapshotAsked: this process's stock snapshot request reached the broker.
	snapshotAsked atomic.Bool

	// An ack beyond anything sent is logged at most once per ackWarnEvery (under ackMu).
	ackWarnAt     time.Time
	ackWarnRepeat int
}

// New checks cfg and returns an uplink for depot. It does not connect: Run does.
func New(cfg Config, depot string, j Journal, devs DeviceLister, log *slog.Logger, opts ...Option) (*Uplink, error) {
	var problems []string
	cfg.Check("uplink", func(key, msg string) { problems = append(problems, key+": "+msg) })
	if len(problems) > 0 {
		return nil, fmt.Errorf("uplink config: %s", strings.Join(problems, "; "))
	}
	if depot == "" || strings.ContainsAny(depot, "+#/") {
		return nil, fmt.Errorf("uplink: depot id %q is empty or contains +, # or /", depot)
	}
	if hasSpace(depot) {
		return nil, fmt.Errorf("uplink: depot id %q contains whitespace, which NATS refuses in topics", depot)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &Uplink{
		s:        cfg.resolve(depot),
		depot:    depot,
		j:        j,
		devs:     devs,
		log:      log,
		ackMoved: make(chan struct{}, 1),
		cmds:     make(chan Command, 16),
		asks:     make(chan chan error),
	}
	tc, err := ClientTLS(cfg)
	if err != nil {
		return nil, fmt.Errorf("uplink tls: %w", err)
	}
	u.tlsCfg = tc
	u.startLast, _ = j.Positions()
	if u.version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			u.version = bi.Main.Version
		}
	}
	for _, o := range opts {
		o(u)
	}
	return u, nil
}

// Topic returns the full topic for a suffix such as TopicTx.
func (u *Uplink) Topic(suffix string) string { return u.s.prefix + suffix }

// State returns a snapshot of the connection state.
func (u *Uplink) State() State {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.state
}

func (u *Uplink) setState(fn func(*State)) {
	u.mu.Lock()
	fn(&u.state)
	u.mu.Unlock()
}

// Run connects, forwards and reconnects until ctx ends, then publishes the retained
// offline status, disconnects and returns nil. Failures (broker down, journal read errors)
// are retried with backoff, never returned: the depot must keep trying.
func (u *Uplink) Run(ctx context.Context) error {
	defer func() {
		u.hmu.Lock()
		u.hclosed = true
		u.hmu.Unlock()
		u.hwg.Wait()
		u.hmu.Lock()
		u.hclosed = false
		u.hmu.Unlock()
	}()
	delay := reconnectMin
	var lastLogged string
	var lastLoggedAt time.Time
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return nil
		}
		broker := u.s.Brokers[attempt%len(u.s.Brokers)]
		connected, up, err := u.connection(ctx, broker)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			lastLogged = ""
		}
		// Only a connection that stayed healthy a while resets the backoff: one that dies at
		// once (a refused subscription, a failed status publish) must not reconnect, with
		// a new fsynced session and status churn, every half second.
		if up >= reconnectHealthy {
			delay = reconnectMin
		}
		if err != nil {
			u.setState(func(s *State) { s.LastError = err.Error() })
			// State changes only: a lost connection was logged as "uplink offline"; of the
			// failures to connect, the first is logged, repeats of the same one every 5 min.
			if msg := err.Error(); !connected && (msg != lastLogged || time.Since(lastLoggedAt) > 5*time.Minute) {
				u.log.Warn("uplink connection failed", "broker", broker, "err", err, "retry_in", delay.Round(time.Millisecond))
				lastLogged, lastLoggedAt = msg, time.Now()
			}
		}
		// Full jitter in [delay/2, delay) so a fleet of depots does not reconnect in step.
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		delay = min(delay*2, reconnectMax)
	}
}

var errConnectionLost = errors.New("connection lost")

// connection runs one MQTT connection to broker: connect, subscribe, forward until the
// connection or ctx ends. connected reports whether CONNECT succeeded, up how long the
// connection then stayed online (subscribed and forwarding; 0 when it never was).
func (u *Uplink) connection(ctx context.Context, broker string) (connected bool, up time.Duration, err error) {
	session, err := u.j.NextSession()
	if err != nil {
		return false, 0, fmt.Errorf("next session: %w", err)
	}
	connectedAt := time.Now()
	will, _ := json.Marshal(Status{V: ProtocolVersion, Depot: u.depot, Online: false, Session: session, At: rfc3339(connectedAt)})
	lost := make(chan error, 1)
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(u.s.ClientID).
		SetUsername(u.s.Username).
		SetPassword(u.s.Password).
		SetCleanSession(false).
		// 3.1.1 only: paho would otherwise retry a refused CONNECT as MQTT 3.1, which NATS
		// does not speak, and the log would show that failure rather than the refusal.
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetResumeSubs(false).
		SetKeepAlive(u.s.KeepAlive).
		SetPingTimeout(u.pingTimeout()).
		SetConnectTimeout(connectTimeout).
		// paho applies this as the socket write deadline and as the longest a Publish may
		// wait for its send queue: a stuck write ends the connection within keepalive.
		SetWriteTimeout(min(u.s.KeepAlive, writeTimeout)).
		SetBinaryWill(u.Topic(TopicStatus), will, 1, true).
		SetDefaultPublishHandler(u.onMessage).
		SetCustomOpenConnectionFn(OpenConn).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if u.tlsCfg != nil {
		opts.SetTLSConfig(u.tlsCfg.Clone())
	}
	u.setState(func(s *State) { s.Broker = broker; s.Session = session })
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	t := time.NewTimer(connectTimeout + 5*time.Second)
	select {
	case <-tok.Done():
		t.Stop()
	case <-ctx.Done():
		t.Stop()
		tok.WaitTimeout(time.Second)
		c.Disconnect(0)
		return false, 0, nil
	case <-t.C:
		c.Disconnect(0)
		return false, 0, fmt.Errorf("connect %s: timed out", broker)
	}
	if err := tok.Error(); err != nil {
		return false, 0, fmt.Errorf("connect %s: %w", broker, err)
	}
	// A broker that lost its state must not leave us deaf: subscribe on every connect.
	filters := make(map[string]byte, len(downlinkFilters))
	for _, t := range downlinkFilters {
		filters[u.Topic(t)] = 1
	}
	// The wait is uplink.subscribe_timeout, not connectTimeout: on NATS each filter is a
	// replicated JetStream consumer, and giving up early only makes the depot subscribe
	// again while the consumers of this attempt are still being created.
	st := c.SubscribeMultiple(filters, nil)
	sw := time.NewTimer(u.s.SubscribeTimeout)
	select {
	case <-st.Done():
		sw.Stop()
	case <-ctx.Done():
		sw.Stop()
		c.Disconnect(0)
		return true, 0, nil
	case err := <-lost:
		sw.Stop()
		c.Disconnect(0)
		return true, 0, fmt.Errorf("subscribe %s: connection lost: %w", broker, err)
	case <-sw.C:
		c.Disconnect(0)
		return true, 0, fmt.Errorf("subscribe %s: no SUBACK within uplink.subscribe_timeout (%v)", broker, u.s.SubscribeTimeout)
	}
	if err := st.Error(); err != nil {
		c.Disconnect(0)
		return true, 0, fmt.Errorf("subscribe %s: %w", broker, err)
	}
	// paho completes the token without error when the broker refuses a filter (SUBACK
	// 0x80, an ACL): without the ack topic the outbox could never drain, so that ends the
	// connection (and the backoff grows); the other topics are reported and done without.
	if refused := refusedFilters(st); len(refused) > 0 {
		ackTopic := u.Topic(TopicAck)
		fatal := slices.Contains(refused, ackTopic)
		u.log.Error("uplink subscription refused by the broker: check its ACL for this client id and user",
			"broker", broker, "session", session, "topics", refused, "client_id", u.s.ClientID, "disconnecting", fatal)
		if fatal {
			c.Disconnect(0)
			return true, 0, fmt.Errorf("subscribe %s: broker refused %s, so no ack could arrive", broker, ackTopic)
		}
	}
	onlineAt := time.Now()
	u.setState(func(s *State) { s.Online = true; s.Since = onlineAt; s.LastError = "" })
	last, acked := u.j.Positions()
	u.log.Info("uplink online", "broker", broker, "session", session, "last_seq", last, "acked_seq", acked)
	u.askSnapshot(c)

	ferr := u.forward(ctx, c, lost, session)

	u.setState(func(s *State) { s.Online = false; s.Since = time.Now() })
	if ctx.Err() != nil {
		// A broker sends no Will on a clean DISCONNECT: say offline ourselves.
		if p, err := u.statusPayload(false, session); err == nil {
			pt := c.Publish(u.Topic(TopicStatus), 1, true, p)
			pt.WaitTimeout(shutdownTimeout)
		}
		c.Disconnect(uint(shutdownTimeout / time.Millisecond / 3))
		u.log.Info("uplink stopped", "broker", broker, "session", session)
		return true, time.Since(onlineAt), nil
	}
	c.Disconnect(0)
	u.log.Warn("uplink offline", "broker", broker, "session", session, "err", ferr)
	return true, time.Since(onlineAt), ferr
}

// askSnapshot sends, once per process (again on a later connection only if the broker
// never took it), the request for a stock snapshot: a depot that started (after an
// outage, an update or a restore) gets the ERP's current stock without waiting for the
// ERP's timer.
func (u *Uplink) askSnapshot(c mqtt.Client) {
	if u.snapshotAsked.Load() {
		return
	}
	if err := u.publishSnapshotRequest(c); err != nil {
		u.log.Warn("uplink stock snapshot request not accepted by the broker: asking again on the next connection", "err", err)
		return
	}
	u.snapshotAsked.Store(true)
	u.log.Info("uplink asked the erp for a stock snapshot")
}

func (u *Uplink) publishSnapshotRequest(c mqtt.Client) error {
	body, _ := json.Marshal(Request{V: ProtocolVersion, Request: RequestSnapshot, At: rfc3339(time.Now())})
	t := c.Publish(u.Topic(TopicRequest), 1, false, body)
	if t.WaitTimeout(connectTimeout) && t.Error() == nil {
		return nil
	}
	return errors.New(errOr(t.Error(), "timed out"))
}

// ErrOffline is AskSnapshot's answer while the uplink has no broker connection.
var ErrOffline = errors.New("the uplink is offline")

// AskSnapshot asks the ERP for a stock snapshot now (P request), as the depot does once
// per start: for a supervisor who wants the ERP's stock without waiting for its timer. It
// returns once the broker took the request, ErrOffline while there is no connection (the
// request is not queued: a depot that reconnects is sent its snapshot anyway), or ctx's
// error.
func (u *Uplink) AskSnapshot(ctx context.Context) error {
	if !u.State().Online {
		return ErrOffline
	}
	reply := make(chan error, 1)
	select {
	case u.asks <- reply:
	case <-ctx.Done():
		return fmt.Errorf("ask the erp for a stock snapshot: %w", ctx.Err())
	}
	select {
	case err := <-reply:
		if err != nil {
			return fmt.Errorf("ask the erp for a stock snapshot: the broker did not take it: %w", err)
		}
		u.log.Info("uplink asked the erp for a stock snapshot", "by", "console")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ask the erp for a stock snapshot: %w", ctx.Err())
	}
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

func errOrErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

var errWindowFull = errors.New("window full")

// forward drains the journal above the ack watermark with a bounded window (go-back-N)
// until the connection is lost or ctx ends.
func (u *Uplink) forward(ctx context.Context, c mqtt.Client, lost <-chan error, session uint64) error {
	resendBase := u.s.ResendAfter
	resendMax := max(resendCap, resendBase)
	resendDelay := resendBase
	txTopic := u.Topic(TopicTx)
	inflight := uint64(u.s.Inflight)

	_, acked := u.j.Positions()
	next := acked + 1 // on (re)connect, resume from the watermark at once
	lastAcked := acked
	// The go-back-N timer runs from lastMove: the later of the last watermark move, the
	// last go-back-N resend, and the first send above a watermark that had nothing waiting
	// above it. So it measures from the oldest unacknowledged send, except that while the
	// watermark moves (an ERP working through a long window) it waits for it.
	lastMove := time.Now()
	silentSince := lastMove // as lastMove, without the resends: for the log
	forced := false         // an ERP resend command may go below the watermark

	// paho's keepalive cannot see a black-holed link while the socket buffer is full (its
	// PINGREQ write blocks), so the forwarder watches its own publishes: one outstanding
	// QoS 1 publish without PUBACK for keepalive+ping timeout means the link is dead.
	probe := &probe{limit: u.s.KeepAlive + u.pingTimeout()}
	if err := u.publishStatus(c, session, nil); err != nil {
		return err
	}
	lastStatus := time.Now()
	probeTick := time.NewTicker(max(u.s.KeepAlive/4, 100*time.Millisecond))
	defer probeTick.Stop()
	dirty := false
	statusTick := time.NewTicker(statusMinGap)
	defer statusTick.Stop()
	resendTimer := time.NewTimer(time.Hour)
	defer resendTimer.Stop()

	var lostErr error
	streamed := 0
	for {
		commitCh := u.j.Checkpointed() // taken before Positions so no commit is missed
		last, acked := u.j.Positions()
		if acked != lastAcked {
			lastAcked, lastMove, resendDelay = acked, time.Now(), resendBase
			silentSince = lastMove
			dirty = true
		}
		if next > acked {
			forced = false
		} else if !forced {
			next = acked + 1
		}
		if next <= last && next <= acked+inflight {
			limit := acked + inflight
			first := true
			err := u.j.ScanCheckpointed(ctx, next-1, func(seq uint64, raw []byte) error {
				if seq > limit {
					return errWindowFull
				}
				if seq != next {
					// A resend command may reach below what retention kept; it prunes only
					// acknowledged seqs, so the journal then starts at or below acked+1.
					if !first || !forced || next > acked || seq > acked+1 {
						return fmt.Errorf("journal scan: got seq %d, want %d", seq, next)
					}
					u.log.Warn("uplink resend: older seqs were pruned by retention, resending from the oldest stored", "from_seq", next, "first_stored_seq", seq)
					next = seq
				}
				first = false
				if streamed += len(raw); streamed >= releaseEvery {
					streamed = 0
					if r, ok := u.j.(MemoryReleaser); ok {
						if err := r.ReleaseMemory(); err != nil {
							u.log.Debug("uplink release memory", "err", err)
						}
					}
				}
				prev := u.sentMax.Load()
				p, err := Tx(make([]byte, 0, len(raw)+64), u.depot, seq, raw, seq <= prev)
				if err != nil {
					return err
				}
				if seq > prev {
					if prev <= acked {
						// Nothing was waiting above the watermark: the resend timer runs
						// from this send, not from a watermark move perhaps long ago.
						lastMove, silentSince = time.Now(), time.Now()
					}
					u.sentMax.Store(seq) // only this goroutine writes it
				}
				if !c.IsConnectionOpen() {
					return errConnectionLost
				}
				t := c.Publish(txTopic, 1, false, p)
				if err := probe.watch(t); err != nil {
					return fmt.Errorf("publish seq %d: %w", seq, err)
				}
				next = seq + 1
				select {
				case lostErr = <-lost:
					return errConnectionLost
				default:
				}
				return nil
			})
			switch {
			case err == nil || errors.Is(err, errWindowFull):
			case errors.Is(err, errConnectionLost):
				return errOrErr(lostErr, err)
			case ctx.Err() != nil:
				return nil
			default:
				return err
			}
			dirty = true
		}
		if err := u.sendProposals(c); err != nil {
			return err
		}
		outstanding := next-1 > acked
		if outstanding {
			resendTimer.Reset(max(time.Until(lastMove.Add(resendDelay)), 0))
		} else {
			resendTimer.Stop()
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-lost:
			return err
		case <-commitCh:
			dirty = true
		case <-u.ackMoved:
		case reply := <-u.asks:
			reply <- u.publishSnapshotRequest(c)
		case cmd := <-u.cmds:
			switch cmd.Cmd {
			case "resend":
				from := min(cmd.FromSeq, last+1)
				u.log.Info("uplink resend requested by ERP", "from_seq", from)
				next, forced = from, true
			case "status":
				dirty = true
				lastStatus = time.Time{}
			}
		case <-resendTimer.C:
			if outstanding && time.Since(lastMove) >= resendDelay {
				u.log.Warn("uplink ERP silent, resending", "from_seq", acked+1, "sent_upto", next-1, "silent_for", time.Since(silentSince).Round(time.Millisecond), "next_resend_in", min(resendDelay*2, resendMax))
				next = acked + 1
				resendDelay = min(resendDelay*2, resendMax)
				lastMove = time.Now()
			}
		case <-probeTick.C:
			if err := probe.check(); err != nil {
				return err
			}
		case <-statusTick.C:
			if (dirty && time.Since(lastStatus) >= statusMinGap) || time.Since(lastStatus) >= u.s.StatusInterval {
				if err := u.publishStatus(c, session, probe); err != nil {
					return err
				}
				lastStatus, dirty = time.Now(), false
			}
		}
	}
}

// publishStatus publishes the retained online status. With a probe it does not wait for
// the PUBACK (the probe watches it); without one (on connect) it waits, so the status is
// the first thing a new session says.
func (u *Uplink) publishStatus(c mqtt.Client, session uint64, p *probe) error {
	payload, err := u.statusPayload(true, session)
	if err != nil {
		u.log.Error("uplink status", "err", err)
		return nil // a journal read problem is not a connection problem
	}
	t := c.Publish(u.Topic(TopicStatus), 1, true, payload)
	if p != nil {
		if err := p.watch(t); err != nil {
			return fmt.Errorf("status publish: %w", err)
		}
		return nil
	}
	if !t.WaitTimeout(u.s.KeepAlive + u.pingTimeout()) {
		return errors.New("status publish: no PUBACK within keepalive")
	}
	return t.Error()
}

func (u *Uplink) pingTimeout() time.Duration {
	return min(max(u.s.KeepAlive/2, time.Second), 10*time.Second)
}

// probe tracks one outstanding publish at a time to detect a dead link.
type probe struct {
	limit time.Duration
	t     mqtt.Token
	since time.Time
}

var errNoPuback = errors.New("no PUBACK from the broker: link dead")

// watch takes t as the probe when none is outstanding and reports a failure that is
// already known.
func (p *probe) watch(t mqtt.Token) error {
	select {
	case <-t.Done():
		// Publish fails at once when the client is not connected or its write queue
		// stayed blocked for writeTimeout.
		if t.Error() != nil {
			return t.Error()
		}
		return nil
	default:
	}
	if p.t == nil {
		p.t, p.since = t, time.Now()
		return nil
	}
	return p.check()
}

func (p *probe) check() error {
	if p.t == nil {
		return nil
	}
	select {
	case <-p.t.Done():
		err := p.t.Error()
		p.t = nil
		return err
	default:
	}
	if time.Since(p.since) >= p.limit {
		return fmt.Errorf("%w (waited %v)", errNoPuback, time.Since(p.since).Round(time.Millisecond))
	}
	return nil
}

// statusPayload builds the retained status message.
func (u *Uplink) statusPayload(online bool, session uint64) ([]byte, error) {
	js, err := u.j.Status()
	if err != nil {
		return nil, fmt.Errorf("journal status: %w", err)
	}
	now := time.Now()
	interval := u.s.StatusInterval.Seconds()
	lag := erpLag(js.Backlog, js.OldestPendingS, u.State().LastAckAt, now)
	s := Status{
		V: ProtocolVersion, Depot: u.depot, Online: online, Session: session,
		Backlog: &js.Backlog, OldestPendingS: &js.OldestPendingS, LastSeq: &js.LastSeq, AckedSeq: &js.AckedSeq,
		ERPLagS: &lag, OpenExceptions: &js.OpenExceptions, OpenRejections: &js.OpenRejections,
		StatusIntervalS: &interval,
		Version:         u.version, At: rfc3339(now),
		Devices: []DeviceStatus{},
	}
	if u.devs != nil {
		s.Devices = append(s.Devices, u.devs.DeviceStates()...)
	}
	if u.dataDir != "" {
		if pct, err := diskUsedPct(u.dataDir); err == nil {
			s.DiskUsedPct = &pct
		}
	}
	if u.syncHealth != nil && online {
		ctx, cancel := context.WithTimeout(context.Background(), syncHealthTimeout)
		sh, err := u.syncHealth.SyncHealth(ctx)
		cancel()
		if err == nil {
			s.Sync = &sh
		} else if now.Sub(u.syncHealthLog) >= time.Minute {
			u.syncHealthLog = now
			u.log.Warn("status without sync health", "err", err)
		}
	}
	return json.Marshal(s)
}

// erpLag is how long the ERP has kept this depot waiting (PROTOCOL.md erp_lag_s): 0 with
// nothing pending, else the time since the ERP last moved the watermark, but no more than
// the age of the oldest pending transaction (an ack before it was committed did not keep
// it waiting). Before this process saw an ack, the oldest pending age stands for it.
func erpLag(backlog uint64, oldestPendingS float64, lastAck, now time.Time) float64 {
	if backlog == 0 {
		return 0
	}
	lag := oldestPendingS
	if !lastAck.IsZero() {
		lag = min(lag, float64(now.Sub(lastAck).Milliseconds())/1000)
	}
	return max(lag, 0)
}

// diskUsedPct reports the file system fill level as df computes it (space reserved for
// root counts as used).
func diskUsedPct(dir string) (float64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	used := float64(st.Blocks - st.Bfree)
	avail := float64(st.Bavail)
	if used+avail == 0 {
		return 0, nil
	}
	pct := used * 100 / (used + avail)
	return float64(int(pct*10+0.5)) / 10, nil
}

// onMessage handles every downlink message. It runs on a paho goroutine and returns
// before paho sends the PUBACK, so an ack is on disk before the broker forgets it.
func (u *Uplink) onMessage(_ mqtt.Client, m mqtt.Message) {
	u.hmu.Lock()
	if u.hclosed {
		u.hmu.Unlock()
		return
	}
	u.hwg.Add(1)
	u.hmu.Unlock()
	defer u.hwg.Done()
	u.HandleDownlink(m.Topic(), m.Payload())
}

// warnAckBeyondSent logs an ack above every seq sent, rate-limited; the caller holds ackMu.
func (u *Uplink) warnAckBeyondSent(upto, sent, last uint64) {
	if !u.ackWarnAt.IsZero() && time.Since(u.ackWarnAt) < ackWarnEvery {
		u.ackWarnRepeat++
		return
	}
	u.log.Warn("uplink ack beyond what was sent: the ERP acknowledges seqs it cannot have received",
		"upto_seq", upto, "sent_max", sent, "last_seq", last, "repeats_since_last_log", u.ackWarnRepeat)
	u.ackWarnAt, u.ackWarnRepeat = time.Now(), 0
}

// HandleDownlink validates and applies one downlink message; a message that does not
// parse or validate is logged with its topic and reason and dropped. It returns the
// reason for tests and tools; the caller need not act on it.
func (u *Uplink) HandleDownlink(topic string, payload []byte) error {
	err := u.handleDownlink(topic, payload)
	if err != nil {
		u.log.Warn("uplink downlink refused", "topic", topic, "reason", err)
	}
	return err
}

func (u *Uplink) handleDownlink(topic string, payload []byte) error {
	suffix, ok := strings.CutPrefix(topic, u.s.prefix)
	if !ok {
		return fmt.Errorf("%w: topic outside %s", ErrInvalid, u.s.prefix)
	}
	switch suffix {
	case TopicAck:
		a, err := ParseAck(payload)
		if err != nil {
			return err
		}
		// Acks are cumulative: one already covered by the durable watermark needs no write.
		// Serialising here lets a burst of acks skip the fsyncs of those a later one covered.
		u.ackMu.Lock()
		defer u.ackMu.Unlock()
		if last, acked := u.j.Positions(); a.UptoSeq <= acked && len(a.Rejected) == 0 {
			return nil
		} else if a.UptoSeq > last {
			// Checked here too so that the refusal is logged even when the watermark is at
			// last; the journal checks again under its own lock.
			return fmt.Errorf("ack upto_seq %d: %w (last_seq %d)", a.UptoSeq, edge.ErrAckBeyondLast, last)
		} else if sent := max(u.sentMax.Load(), u.startLast); a.UptoSeq > sent {
			// Within last_seq, so the journal takes it (DECISIONS.md), but the ERP cannot
			// have received what was never sent: a confused consumer or the wrong depot.
			u.warnAckBeyondSent(a.UptoSeq, sent, last)
		}
		res, err := u.j.Ack(a)
		if err != nil {
			return fmt.Errorf("ack upto_seq %d: %w", a.UptoSeq, err)
		}
		if res.Moved {
			u.setState(func(s *State) { s.LastAckAt = time.Now() })
			select {
			case u.ackMoved <- struct{}{}:
			default:
			}
		}
		if len(a.Rejected) > 0 {
			u.log.Info("uplink ERP rejected transactions", "count", len(a.Rejected), "first_seq", a.Rejected[0].Seq, "code", a.Rejected[0].Code)
		}
		return nil
	case TopicCmd:
		c, err := ParseCommand(payload)
		if err != nil {
			return err
		}
		select {
		case u.cmds <- c:
			return nil
		default:
			return fmt.Errorf("%w: command queue full", ErrInvalid)
		}
	case TopicMasterItems, TopicMasterLocations, TopicMasterOperators, TopicMasterOrderpoints, TopicMasterDocuments:
		if err := ParseMaster(payload); err != nil {
			return err
		}
		kind := strings.TrimPrefix(suffix, "master/")
		v, err := u.j.PutMaster(kind, payload)
		if err != nil {
			return fmt.Errorf("master %s: %w", kind, err)
		}
		u.log.Info("uplink master data stored", "kind", kind, "version", v)
		return nil
	case TopicStock:
		s, err := ParseStock(payload)
		if err != nil {
			return err
		}
		if err := u.j.ApplyStockSnapshot(s); err != nil {
			return fmt.Errorf("stock snapshot applied_seq %d: %w", s.AppliedSeq, err)
		}
		u.log.Info("uplink stock snapshot applied", "applied_seq", s.AppliedSeq, "rows", len(s.Rows))
		return nil
	}
	return fmt.Errorf("%w: unknown topic", ErrInvalid)
}
