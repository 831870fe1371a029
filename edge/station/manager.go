package station

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
)

// Committer posts transactions; *edge.Journal satisfies it.
type Committer interface {
	Commit(ctx context.Context, tx edge.Transaction) (edge.Transaction, bool, error)
}

// Journal is everything the stations need from the journal; *edge.Journal satisfies it.
type Journal interface {
	Committer
	MasterSource
	Stock(f edge.StockFilter) ([]edge.StockRow, error)
	RaiseException(e edge.Exception) (edge.Exception, error)
	PutStationStates(states map[string][]byte) error
	StationStates() (map[string][]byte, error)
}

// Options configure a Manager.
type Options struct {
	Stations []Config
	Settings Settings // defaults are applied by New
	Master   MasterConfig
	Decoder  *barcode.Decoder
	Catalog  *edge.Catalog
	Journal  Journal
	// Documents finds the ERP's open documents a REF: names (nil: none known), so that a
	// receipt, delivery or transfer shows scanned against expected.
	Documents DocumentSource
	// Beeper returns the beeper of a scanner by device name, or nil when it has none
	// (cmd wires it to the device supervisor). Nil: no beeps.
	Beeper func(scanner string) devices.Beeper
	Logger *slog.Logger
	Now    func() time.Time
	// NewID returns a document id; default: "<station>-<unix ms>-<8 random hex>".
	NewID func(station string, now time.Time) string
	// QueueSize bounds each station's queue of scans waiting to be processed (default 256).
	// A full queue makes the driver wait: scans are never dropped.
	QueueSize int
}

// Sentinel errors.
var (
	// ErrConfig means the Options are unusable (no decoder, journal or catalog; a bad
	// station entry); the error names the problem.
	ErrConfig = errors.New("invalid station options")
	// ErrUnknownStation is returned for a station name no station has.
	ErrUnknownStation = errors.New("unknown station")
)

// Manager owns every station. It is a devices.Sink: scans and weights arrive by device
// name. It is safe for concurrent use.
type Manager struct {
	opts Options
	log  *slog.Logger

	stations  []*station
	byScanner map[string]*station
	byName    map[string]*station
	master    *master

	scaleMu sync.Mutex
	scales  map[string]*scaleState

	refMu     sync.Mutex
	closed    map[string]uint64
	closedOrd []string

	subMu sync.Mutex
	subs  map[*subscriber]struct{}

	runMu   sync.RWMutex
	running atomic.Bool
	stopped bool
}

type station struct {
	m     *Manager
	cfg   Config
	queue chan devices.Scan

	mu sync.Mutex
	st state
}

type scaleState struct {
	w        devices.Weight
	have     bool
	consumed bool
}

// closedRefsKey holds the references of validated documents in the stations bucket; the
// '#' cannot start a station name.
const closedRefsKey = "#closed_refs"

// maxClosedRefs bounds the remembered validated references.
const maxClosedRefs = 1000

// New builds the stations and restores their persisted state (open documents survive a
// restart).
func New(opts Options) (*Manager, error) {
	if opts.Decoder == nil || opts.Catalog == nil || opts.Journal == nil {
		return nil, fmt.Errorf("%w: Decoder, Catalog and Journal are required", ErrConfig)
	}
	var probs []string
	CheckAll(opts.Stations, opts.Catalog, func(k, msg string) { probs = append(probs, k+": "+msg) })
	opts.Settings.ApplyDefaults()
	opts.Settings.Check("station_settings", func(k, msg string) { probs = append(probs, k+": "+msg) })
	if len(probs) > 0 {
		return nil, fmt.Errorf("%w: %v", ErrConfig, probs)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 256
	}
	m := &Manager{
		opts: opts, log: opts.Logger,
		byScanner: map[string]*station{}, byName: map[string]*station{},
		scales: map[string]*scaleState{}, closed: map[string]uint64{},
		subs: map[*subscriber]struct{}{},
	}
	m.master = &master{src: opts.Journal}
	saved, err := opts.Journal.StationStates()
	if err != nil {
		return nil, err
	}
	if raw := saved[closedRefsKey]; raw != nil {
		var refs []closedRef
		if err := json.Unmarshal(raw, &refs); err != nil {
			m.log.Error("closed references unreadable; starting without them", "err", err)
		}
		for _, r := range refs {
			m.closed[r.Ref] = r.Seq
			m.closedOrd = append(m.closedOrd, r.Ref)
		}
	}
	for _, c := range opts.Stations {
		s := &station{m: m, cfg: c, queue: make(chan devices.Scan, opts.QueueSize), st: state{Mode: c.Mode}}
		if raw := saved[c.Name]; raw != nil {
			var st state
			if err := json.Unmarshal(raw, &st); err != nil {
				m.log.Error("station state unreadable; starting fresh", "station", c.Name, "err", err)
			} else {
				s.st = st
				if !s.st.Mode.valid() {
					s.st.Mode = c.Mode
				}
			}
		}
		m.stations = append(m.stations, s)
		m.byScanner[c.Scanner] = s
		m.byName[c.Name] = s
	}
	return m, nil
}

type closedRef struct {
	Ref string `json:"ref"`
	Seq uint64 `json:"seq"`
}

func (m *Manager) closedRef(ref string) (uint64, bool) {
	m.refMu.Lock()
	defer m.refMu.Unlock()
	seq, ok := m.closed[ref]
	return seq, ok
}

func (m *Manager) closeRef(ref string, seq uint64) {
	m.refMu.Lock()
	defer m.refMu.Unlock()
	if _, ok := m.closed[ref]; !ok {
		m.closedOrd = append(m.closedOrd, ref)
	}
	m.closed[ref] = seq
	for len(m.closedOrd) > maxClosedRefs {
		delete(m.closed, m.closedOrd[0])
		m.closedOrd = m.closedOrd[1:]
	}
}

func (m *Manager) closedRefsJSON() []byte {
	m.refMu.Lock()
	defer m.refMu.Unlock()
	refs := make([]closedRef, 0, len(m.closedOrd))
	for _, r := range m.closedOrd {
		refs = append(refs, closedRef{r, m.closed[r]})
	}
	raw, _ := json.Marshal(refs)
	return raw
}

func (m *Manager) newID(name string, now time.Time) string {
	if m.opts.NewID != nil {
		return m.opts.NewID(name, now)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", name, now.UnixMilli(), hex.EncodeToString(b[:]))
}

// reading returns the scale's latest reading if it may be used now, or why not.
func (m *Manager) reading(scale string, now time.Time) (devices.Weight, string) {
	m.scaleMu.Lock()
	defer m.scaleMu.Unlock()
	ss := m.scales[scale]
	switch {
	case ss == nil || !ss.have:
		return devices.Weight{}, fmt.Sprintf("no reading from scale %s", scale)
	case now.Sub(ss.w.At) > m.opts.Settings.WeightMaxAge:
		return devices.Weight{}, fmt.Sprintf("scale %s has sent nothing for %s", scale, now.Sub(ss.w.At).Round(time.Second))
	case !ss.w.Stable || ss.w.Status == devices.WeightMotion:
		return devices.Weight{}, "the scale is in motion: wait until it is stable, then scan again"
	case ss.w.Status != devices.WeightOK:
		return devices.Weight{}, fmt.Sprintf("the scale reports %s: the weight cannot be used", ss.w.Status)
	case ss.consumed:
		return devices.Weight{}, "this weight was already counted: take the goods off the scale, put the next ones on"
	}
	return ss.w, ""
}

func (m *Manager) consume(scale string, w devices.Weight) {
	m.scaleMu.Lock()
	defer m.scaleMu.Unlock()
	if ss := m.scales[scale]; ss != nil && ss.w.Kg.Equal(w.Kg) {
		ss.consumed = true
	}
}

// Weight implements devices.Sink: it keeps each scale's latest reading. A reading that is
// in motion, out of range or different from a counted one makes the scale usable again.
func (m *Manager) Weight(w devices.Weight) {
	m.scaleMu.Lock()
	defer m.scaleMu.Unlock()
	ss := m.scales[w.Device]
	if ss == nil {
		ss = &scaleState{}
		m.scales[w.Device] = ss
	}
	if ss.consumed && (!w.Usable() || !w.Kg.Equal(ss.w.Kg)) {
		ss.consumed = false
	}
	ss.w, ss.have = w, true
}

// State implements devices.Sink: a disconnected scale's last reading is forgotten.
func (m *Manager) State(s devices.DeviceState) {
	if s.Kind == devices.KindScale && s.State != devices.StateConnected {
		m.scaleMu.Lock()
		delete(m.scales, s.Device)
		m.scaleMu.Unlock()
	}
}

// Scan implements devices.Sink. While Run runs, the scan is queued for its station's
// worker (waiting when the queue is full: nothing is dropped); otherwise it is processed
// at once, in the caller's goroutine.
func (m *Manager) Scan(sc devices.Scan) {
	s := m.byScanner[sc.Device]
	if s == nil {
		m.log.Debug("scan from a scanner no station uses", "device", sc.Device)
		return
	}
	m.runMu.RLock()
	if m.running.Load() {
		s.queue <- sc
		m.runMu.RUnlock()
		return
	}
	m.runMu.RUnlock()
	s.process(context.Background(), sc)
}

// BadScan implements devices.Sink: a frame the driver refused is refused at its station and
// kept as an unresolved scan.
func (m *Manager) BadScan(b devices.BadScan) {
	s := m.byScanner[b.Device]
	if s == nil {
		m.log.Debug("bad scan from a scanner no station uses", "device", b.Device)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := m.opts.Now()
	o := refused("scan not readable (%s): scan again", b.Reason)
	o.unresolved = "scanner sent a bad frame: " + b.Reason
	s.finish(devices.Scan{Device: b.Device, At: b.At, Raw: b.Raw, Data: b.Raw}, o, now)
}

// Apply processes one scan synchronously and returns the feedback event. It is what the
// station workers run; tests and tools may call it directly.
func (m *Manager) Apply(ctx context.Context, sc devices.Scan) (Event, error) {
	s := m.byScanner[sc.Device]
	if s == nil {
		return Event{}, fmt.Errorf("%w: no station reads scanner %q", ErrUnknownStation, sc.Device)
	}
	return s.process(ctx, sc), nil
}

func (s *station) process(ctx context.Context, sc devices.Scan) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.m.opts.Now()
	if sc.At.IsZero() {
		sc.At = now
	}
	var pre string
	if s.idleLogout(now) {
		pre = "logged out after inactivity; "
	}
	o := s.handle(ctx, sc, now)
	if o.result != Refused || o.changed {
		s.st.LastActive = now
	}
	if o.result != Refused && !o.keepLast && s.st.Doc != nil {
		// A QTY: applies to the product scanned just before it, and to nothing older.
		s.st.Doc.LastAdd = nil
	}
	o.msg = pre + o.msg
	return s.finish(sc, o, now)
}

// idleLogout logs the operator out when idle_logout has passed; it reports whether it did.
func (s *station) idleLogout(now time.Time) bool {
	idle := s.m.opts.Settings.IdleLogout
	if idle <= 0 || s.st.Operator == nil || now.Sub(s.st.LastActive) < idle {
		return false
	}
	s.st.Operator, s.st.NextQty = nil, nil
	return true
}

// finish records the outcome: unresolved scan, persisted state, beep, event.
func (s *station) finish(sc devices.Scan, o outcome, now time.Time) Event {
	m := s.m
	ev := Event{Station: s.cfg.Name, At: now, Device: sc.Device, Scan: printable(sc.Data), Result: o.result, Message: o.msg, Seq: o.seq}
	if o.unresolved != "" {
		op := ""
		if s.st.Operator != nil {
			op = " (operator " + s.st.Operator.Badge + ")"
		}
		e, err := m.opts.Journal.RaiseException(edge.Exception{
			Kind: edge.ExcUnresolvedScan, Station: s.cfg.Name, Device: sc.Device, Raw: append([]byte(nil), sc.Raw...),
			Code: truncate(printable(sc.Data), 256), Message: o.unresolved + op,
		})
		if err != nil {
			m.log.Error("unresolved scan not recorded", "station", s.cfg.Name, "err", err)
		} else {
			ev.Exception = e.ID
		}
	}
	if o.exception != nil {
		e, err := m.opts.Journal.RaiseException(*o.exception)
		if err != nil {
			m.log.Error("exception not recorded", "station", s.cfg.Name, "kind", o.exception.Kind, "err", err)
		} else {
			ev.Exception = e.ID
		}
	}
	s.st.Last = &Last{At: now, Scan: ev.Scan, Result: o.result, Message: o.msg}
	if err := s.persist(o.seq != 0); err != nil {
		m.log.Error("station state not saved", "station", s.cfg.Name, "err", err)
	}
	if m.opts.Beeper != nil && (len(sc.Raw) > 0 || len(sc.Data) > 0) { // an idle logout makes no sound
		if b := m.opts.Beeper(s.cfg.Scanner); b != nil {
			if err := b.Beep(o.result != Refused); err != nil {
				m.log.Debug("beep failed", "station", s.cfg.Name, "err", err)
			}
		}
	}
	ev.Status = s.status()
	m.publish(ev)
	return ev
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// persist writes the station's state (and the closed references after a commit) in one
// fsynced bbolt transaction.
func (s *station) persist(withRefs bool) error {
	raw, err := json.Marshal(&s.st)
	if err != nil {
		return err
	}
	states := map[string][]byte{s.cfg.Name: raw}
	if withRefs {
		states[closedRefsKey] = s.m.closedRefsJSON()
	}
	return s.m.opts.Journal.PutStationStates(states)
}

// Run processes each station's queued scans in arrival order, one at a time per station,
// and logs idle operators out, until ctx is done; scans already queued are processed
// before it returns (a validation in progress still commits).
func (m *Manager) Run(ctx context.Context) error {
	m.runMu.Lock()
	if m.running.Load() || m.stopped {
		m.runMu.Unlock()
		return fmt.Errorf("station manager: Run called twice")
	}
	m.running.Store(true)
	m.runMu.Unlock()
	work := context.WithoutCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, s := range m.stations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case sc := <-s.queue:
					s.process(work, sc)
				case <-stop:
					for {
						select {
						case sc := <-s.queue:
							s.process(work, sc)
						default:
							return
						}
					}
				}
			}
		}()
	}
	if idle := m.opts.Settings.IdleLogout; idle > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(min(idle/4, 5*time.Second))
			defer t.Stop()
			for {
				select {
				case <-t.C:
					m.checkIdle()
				case <-stop:
					return
				}
			}
		}()
	}
	<-ctx.Done()
	// No scan can be queued after this: a Scan that saw running holds runMu.RLock until
	// its send went through, and the workers are still consuming.
	m.runMu.Lock()
	m.running.Store(false)
	m.stopped = true
	m.runMu.Unlock()
	close(stop)
	wg.Wait()
	return nil
}

// Running reports whether Run is processing the queues.
func (m *Manager) Running() bool { return m.running.Load() }

func (m *Manager) checkIdle() {
	now := m.opts.Now()
	for _, s := range m.stations {
		s.mu.Lock()
		if s.idleLogout(now) {
			o := outcome{result: Accepted, msg: "logged out after inactivity", changed: true}
			s.finish(devices.Scan{Device: s.cfg.Scanner}, o, now)
		}
		s.mu.Unlock()
	}
}

// Event is the feedback of one scan (or of an idle logout), published live.
type Event struct {
	Station string    `json:"station"`
	At      time.Time `json:"at"`
	Device  string    `json:"device,omitempty"`
	Scan    string    `json:"scan"`
	Result  Result    `json:"result"`
	Message string    `json:"message"`
	// Seq is the transaction the scan committed, if any.
	Seq uint64 `json:"seq,omitempty"`
	// Exception is the unresolved-scan record the scan was kept in, if any.
	Exception uint64 `json:"exception,omitempty"`
	// Status is the station right after the scan.
	Status Status `json:"status"`
}

// Snapshot is what GET /api/v1/stations reports.
type Snapshot struct {
	Stations []Status `json:"stations"`
}

// Status is one station as the API and the console show it.
type Status struct {
	Name         string        `json:"name"`
	Scanner      string        `json:"scanner"`
	Scale        string        `json:"scale,omitempty"`
	Mode         Mode          `json:"mode"`
	Operator     string        `json:"operator,omitempty"` // badge
	OperatorName string        `json:"operator_name,omitempty"`
	OperatorRole string        `json:"operator_role,omitempty"`
	NextQty      *edge.Qty     `json:"next_qty,omitempty"`
	Document     *DocumentView `json:"document"`
	Last         *Last         `json:"last"`
}

// DocumentView is an open document.
type DocumentView struct {
	ID               string      `json:"id"`
	Type             edge.TxType `json:"type"`
	Ref              string      `json:"ref,omitempty"`
	Reason           string      `json:"reason,omitempty"`
	From             string      `json:"from,omitempty"`
	To               string      `json:"to,omitempty"`
	Opened           time.Time   `json:"opened"`
	Lines            []edge.Line `json:"lines"`
	Pending          *Pending    `json:"pending,omitempty"`
	AwaitingApproval bool        `json:"awaiting_approval,omitempty"`
	Remove           bool        `json:"remove,omitempty"`
	Scans            int         `json:"scans"`
	// Expected is the ERP document the REF: named, line by line against what was scanned.
	Expected *ExpectedView `json:"expected,omitempty"`
}

// Pending is a product waiting for its lot, serial or expiry.
type Pending struct {
	Item   string   `json:"item"`
	Qty    edge.Qty `json:"qty"`
	Lot    string   `json:"lot,omitempty"`
	Serial string   `json:"serial,omitempty"`
	Expiry string   `json:"expiry,omitempty"`
}

func (s *station) status() Status {
	st := &s.st
	out := Status{Name: s.cfg.Name, Scanner: s.cfg.Scanner, Scale: s.cfg.Scale, Mode: st.Mode, Last: st.Last}
	if st.Operator != nil {
		out.Operator, out.OperatorName, out.OperatorRole = st.Operator.Badge, st.Operator.Name, st.Operator.Role
	}
	if st.NextQty != nil {
		q := *st.NextQty
		out.NextQty = &q
	}
	if st.Last != nil {
		l := *st.Last
		out.Last = &l
	}
	if d := st.Doc; d != nil {
		v := &DocumentView{ID: d.ID, Type: d.Mode.TxType(), Ref: d.Ref, Reason: d.Reason, From: d.From, To: d.To,
			Opened: d.Opened, Lines: append([]edge.Line{}, d.Lines...), AwaitingApproval: d.AwaitingApproval,
			Remove: d.Remove, Scans: len(d.Scans) + d.ScansDropped, Expected: d.expectedView()}
		if p := d.Pending; p != nil {
			v.Pending = &Pending{Item: p.SKU, Qty: p.Qty, Lot: p.Lot, Serial: p.Serial, Expiry: p.Expiry}
		}
		out.Document = v
	}
	return out
}

// Snapshot returns every station's status, in config order.
func (m *Manager) Snapshot() Snapshot {
	out := Snapshot{Stations: make([]Status, 0, len(m.stations))}
	for _, s := range m.stations {
		s.mu.Lock()
		out.Stations = append(out.Stations, s.status())
		s.mu.Unlock()
	}
	return out
}

// Station returns one station's status.
func (m *Manager) Station(name string) (Status, error) {
	s := m.byName[name]
	if s == nil {
		return Status{}, fmt.Errorf("%w: %q", ErrUnknownStation, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status(), nil
}

type subscriber struct {
	ch      chan Event
	dropped atomic.Uint64
}

// Subscribe returns a channel of live events with room for buf events (at least 1) and a
// function that ends the subscription. A subscriber that falls behind loses events (the
// count is logged when it unsubscribes); it never slows scanning down.
func (m *Manager) Subscribe(buf int) (<-chan Event, func()) {
	sub := &subscriber{ch: make(chan Event, max(buf, 1))}
	m.subMu.Lock()
	m.subs[sub] = struct{}{}
	m.subMu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			m.subMu.Lock()
			delete(m.subs, sub)
			m.subMu.Unlock()
			if n := sub.dropped.Load(); n > 0 {
				m.log.Info("slow station event subscriber lost events", "dropped", n)
			}
		})
	}
}

func (m *Manager) publish(ev Event) {
	m.subMu.Lock()
	defer m.subMu.Unlock()
	for sub := range m.subs {
		select {
		case sub.ch <- ev:
		default:
			sub.dropped.Add(1)
		}
	}
}

var _ devices.Sink = (*Manager)(nil)
