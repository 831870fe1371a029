package devices

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"syscall"
	"time"
)

// Sentinel errors of the supervisor and its drivers.
var (
	// ErrGone is wrapped by drivers when their device vanished (unplugged: its path was
	// removed or re-pointed, the tty hung up). The supervisor reports it as disconnected
	// rather than as an error, and keeps retrying.
	ErrGone = errors.New("device gone")
	// ErrUnknownDevice is returned by Supervisor.Beep for a name no device has.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrNoBeep is returned by Supervisor.Beep when the device's driver cannot beep.
	ErrNoBeep = errors.New("device cannot beep")
)

// Beeper is implemented by scanner drivers that can signal the operator (a beep or an
// LED) on command: good after an accepted scan, bad after a refused one.
type Beeper interface {
	Beep(good bool) error
}

// Backoff is the supervisor's reconnect schedule: Min, doubled after each failure up to
// Max, each wait jittered by ±25% so many devices on one hub do not retry in step. A
// connection that lasted Healthy or longer resets it to Min.
type Backoff struct {
	Min, Max, Healthy time.Duration
}

// DefaultBackoff is 0.5 s doubling to 30 s, reset after a minute of good connection: the
// uplink's reconnects have the same shape but reset after 10 s online, since a broker
// session that lasted that long proved the link; a device that drops within a minute is
// more likely a loose cable than a recovered one.
var DefaultBackoff = Backoff{Min: 500 * time.Millisecond, Max: 30 * time.Second, Healthy: time.Minute}

// Delay is the wait before retry number attempt (0 for the first retry); rnd in [0, 1)
// picks the jitter.
func (b Backoff) Delay(attempt int, rnd float64) time.Duration {
	d := b.Min
	for i := 0; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return time.Duration(float64(d) * (0.75 + 0.5*rnd))
}

// LogEvery is how often a device failing the same way again is logged (with a count of
// the failures in between); a scanner left unplugged must not flood the journal.
const LogEvery = time.Minute

// Unit is one configured device and its driver.
type Unit struct {
	Config Config
	Driver Driver
}

// Supervisor runs one Driver per device, reconnects each on its own (one device's
// trouble never stops another), reports state changes to its Sink and keeps a Registry.
type Supervisor struct {
	// Backoff may be changed before Run; zero fields take DefaultBackoff's.
	Backoff Backoff

	units []Unit
	sink  Sink
	log   *slog.Logger
	reg   *Registry
}

// NewSupervisor returns a supervisor for units delivering to sink. Names must be unique
// (config checking ensures it); a later duplicate shadows an earlier one in the Registry.
func NewSupervisor(units []Unit, sink Sink, log *slog.Logger) *Supervisor {
	reg := NewRegistry()
	for _, u := range units {
		reg.add(u.Config)
	}
	return &Supervisor{units: units, sink: sink, log: log.With("component", "devices"), reg: reg, Backoff: DefaultBackoff}
}

// Registry is the live state of every supervised device.
func (s *Supervisor) Registry() *Registry { return s.reg }

// Beep asks the named device to signal good or bad.
func (s *Supervisor) Beep(device string, good bool) error {
	for _, u := range s.units {
		if u.Config.Name != device {
			continue
		}
		b, ok := u.Driver.(Beeper)
		if !ok {
			return fmt.Errorf("beep %s: %w", device, ErrNoBeep)
		}
		return b.Beep(good)
	}
	return fmt.Errorf("beep %s: %w", device, ErrUnknownDevice)
}

// Run supervises every device until ctx is done, then waits for all drivers to return.
// It always returns nil: device failures are states, not errors of the supervisor.
func (s *Supervisor) Run(ctx context.Context) error {
	b := s.Backoff
	if b.Min <= 0 {
		b.Min = DefaultBackoff.Min
	}
	if b.Max < b.Min {
		b.Max = max(DefaultBackoff.Max, b.Min)
	}
	if b.Healthy <= 0 {
		b.Healthy = DefaultBackoff.Healthy
	}
	var wg sync.WaitGroup
	for _, u := range s.units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.supervise(ctx, u, b)
		}()
	}
	wg.Wait()
	return nil
}

func (s *Supervisor) supervise(ctx context.Context, u Unit, b Backoff) {
	name := u.Config.Name
	log := s.log.With("device", name, "port", u.Config.Port)
	sink := &unitSink{reg: s.reg, next: s.sink, name: name, log: log}
	var (
		attempt    int
		lastMsg    string
		lastLogged time.Time
		suppressed int
	)
	for {
		started := time.Now()
		err := runDriver(ctx, u.Driver, sink, log)
		if ctx.Err() != nil {
			s.reg.setState(name, StateDisconnected, "stopped", time.Now())
			return
		}
		if err == nil {
			err = errors.New("driver stopped without error")
		}
		state := classify(err)
		now := time.Now()
		sink.State(DeviceState{Device: name, Kind: u.Config.Kind, State: state, Reason: err.Error(), Since: now})
		failures := sink.fail()
		s.reg.failed(name)
		msg := err.Error()
		switch {
		case msg != lastMsg || now.Sub(lastLogged) >= LogEvery:
			lvl := slog.LevelWarn
			if state == StateError {
				lvl = slog.LevelError
			}
			log.Log(ctx, lvl, "device "+string(state), "reason", msg, "failures", failures, "suppressed", suppressed)
			lastMsg, lastLogged, suppressed = msg, now, 0
		default:
			suppressed++
		}

		if now.Sub(started) >= b.Healthy {
			attempt = 0
		}
		wait := b.Delay(attempt, rand.Float64())
		attempt++
		s.reg.update(name, func(st *Status) { st.RetryIn, st.NextRetry = wait, now.Add(wait) })
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			s.reg.setState(name, StateDisconnected, "stopped", time.Now())
			return
		case <-t.C:
		}
	}
}

// runDriver turns a driver panic into an error: one buggy driver or one byte sequence
// nobody foresaw must not take the daemon, and every other device, down.
func runDriver(ctx context.Context, d Driver, sink Sink, log *slog.Logger) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("driver panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("driver panic: %v", r)
		}
	}()
	return d.Run(ctx, sink)
}

// classify tells an unplugged device (it will come back by itself) from one that needs
// someone's attention (wrong path type, permissions, bad settings, held by another program).
func classify(err error) State {
	switch {
	case errors.Is(err, ErrGone), errors.Is(err, fs.ErrNotExist),
		errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.EIO):
		return StateDisconnected
	}
	return StateError
}

// unitSink records what one device delivers in the Registry before passing it on.
type unitSink struct {
	reg  *Registry
	next Sink
	name string

	log *slog.Logger

	mu       sync.Mutex
	failures int         // since the driver last reported connected
	last     DeviceState // last forwarded, so a retry loop does not repeat it
}

// fail counts one failed run and returns the count since the last connection.
func (u *unitSink) fail() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.failures++
	return u.failures
}

func (u *unitSink) Scan(s Scan) {
	u.reg.update(u.name, func(st *Status) {
		c := cloneScan(s)
		st.LastScan, st.LastRaw, st.LastAt = &c, c.Raw, s.At
	})
	u.next.Scan(s)
}

func (u *unitSink) BadScan(b BadScan) {
	u.reg.update(u.name, func(st *Status) {
		c := b
		c.Raw = cloneBytes(b.Raw)
		st.LastBadScan, st.LastRaw, st.LastAt = &c, c.Raw, b.At
		st.FrameErrors++
	})
	u.next.BadScan(b)
}

// FrameError counts a refused frame in the Registry, and passes it on when the next sink
// takes FrameErrors.
func (u *unitSink) FrameError(e FrameError) {
	u.reg.update(u.name, func(st *Status) {
		c := e
		c.Raw = cloneBytes(e.Raw)
		st.LastFrameError = &c
		st.FrameErrors++
	})
	if n, ok := u.next.(FrameErrorSink); ok {
		n.FrameError(e)
	}
}

func (u *unitSink) Weight(w Weight) {
	u.reg.update(u.name, func(st *Status) {
		c := w
		c.Raw = cloneBytes(w.Raw)
		st.LastWeight, st.LastRaw, st.LastAt = &c, c.Raw, w.At
	})
	u.next.Weight(w)
}

// State forwards changes only: a device failing the same way on every retry is one
// state, not a stream of them. The Registry always gets the latest reason.
func (u *unitSink) State(s DeviceState) {
	u.mu.Lock()
	if s.State == StateConnected {
		if u.failures > 0 {
			u.log.Info("device reconnected", "failures", u.failures)
		}
		u.failures = 0
	}
	// A new reason alone is news only for errors (permission denied, then busy); an
	// unplugged device failing open after its hang-up is the same disconnection.
	changed := s.State != u.last.State || (s.State == StateError && s.Reason != u.last.Reason)
	if changed {
		u.last = s
	}
	u.mu.Unlock()
	u.reg.setState(u.name, s.State, s.Reason, s.Since)
	if changed {
		u.next.State(s)
	}
}

// Status is one device's state and latest readings, as GET /api/v1/devices shows it
// (MarshalJSON gives the API's form).
type Status struct {
	Name   string
	Kind   Kind
	Port   string
	State  State
	Reason string
	Since  time.Time
	// Failures counts failed connections since depotd started.
	Failures int
	// FrameErrors counts what the device sent and the driver refused since depotd
	// started: bad scans, and frame errors (corrupted scale frames, line noise).
	FrameErrors    int
	LastFrameError *FrameError
	// RetryIn is the backoff chosen after the latest failure; NextRetry is when it ends.
	RetryIn     time.Duration
	NextRetry   time.Time
	LastScan    *Scan
	LastBadScan *BadScan
	LastWeight  *Weight
	// LastRaw is the raw bytes of the latest reading of any kind, for diagnostics.
	LastRaw []byte
	LastAt  time.Time
}

// MarshalJSON writes bytes as text a person can read in the console's diagnostics: scan
// data as a string (GS as the JSON escape \u001d), raw bytes in hex, decimals as strings.
func (s Status) MarshalJSON() ([]byte, error) {
	type scanJSON struct {
		At     time.Time `json:"at"`
		AIM    string    `json:"aim,omitempty"`
		Data   string    `json:"data"`
		RawHex string    `json:"raw_hex"`
	}
	type badJSON struct { // a bad scan or a frame error
		At     time.Time `json:"at"`
		Reason string    `json:"reason"`
		RawHex string    `json:"raw_hex"`
	}
	type weightJSON struct {
		At     time.Time    `json:"at"`
		Value  string       `json:"value"`
		Unit   string       `json:"unit"`
		Kg     string       `json:"kg"`
		Stable bool         `json:"stable"`
		Net    bool         `json:"net"`
		Status WeightStatus `json:"status"`
		RawHex string       `json:"raw_hex"`
	}
	v := struct {
		Name           string      `json:"name"`
		Kind           Kind        `json:"kind"`
		Port           string      `json:"port"`
		State          State       `json:"state"`
		Reason         string      `json:"reason,omitempty"`
		Since          time.Time   `json:"since"`
		Failures       int         `json:"failures"`
		FrameErrors    int         `json:"frame_errors"`
		NextRetry      time.Time   `json:"next_retry,omitzero"`
		LastScan       *scanJSON   `json:"last_scan,omitempty"`
		LastBadScan    *badJSON    `json:"last_bad_scan,omitempty"`
		LastFrameError *badJSON    `json:"last_frame_error,omitempty"`
		LastWeight     *weightJSON `json:"last_weight,omitempty"`
		LastRawHex     string      `json:"last_raw_hex,omitempty"`
		LastAt         time.Time   `json:"last_at,omitzero"`
	}{Name: s.Name, Kind: s.Kind, Port: s.Port, State: s.State, Reason: s.Reason, Since: s.Since,
		Failures: s.Failures, FrameErrors: s.FrameErrors, NextRetry: s.NextRetry, LastRawHex: hex.EncodeToString(s.LastRaw), LastAt: s.LastAt}
	if x := s.LastScan; x != nil {
		v.LastScan = &scanJSON{At: x.At, AIM: x.AIM, Data: string(x.Data), RawHex: hex.EncodeToString(x.Raw)}
	}
	if x := s.LastBadScan; x != nil {
		v.LastBadScan = &badJSON{At: x.At, Reason: x.Reason, RawHex: hex.EncodeToString(x.Raw)}
	}
	if x := s.LastFrameError; x != nil {
		v.LastFrameError = &badJSON{At: x.At, Reason: x.Reason, RawHex: hex.EncodeToString(x.Raw)}
	}
	if x := s.LastWeight; x != nil {
		v.LastWeight = &weightJSON{At: x.At, Value: x.Value.String(), Unit: x.Unit, Kg: x.Kg.String(),
			Stable: x.Stable, Net: x.Net, Status: x.Status, RawHex: hex.EncodeToString(x.Raw)}
	}
	return json.Marshal(v)
}

// Registry holds every device's Status. It is safe for concurrent use; Snapshot and Get
// return deep copies the caller may keep.
type Registry struct {
	mu    sync.RWMutex
	order []string
	m     map[string]*Status
}

// NewRegistry returns an empty registry; the supervisor fills its own.
func NewRegistry() *Registry { return &Registry{m: make(map[string]*Status)} }

func (r *Registry) add(c Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[c.Name]; !ok {
		r.order = append(r.order, c.Name)
	}
	r.m[c.Name] = &Status{Name: c.Name, Kind: c.Kind, Port: c.Port, State: StateDisconnected,
		Reason: "not connected yet", Since: time.Now()}
}

func (r *Registry) update(name string, f func(*Status)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.m[name]; ok {
		f(st)
	}
}

func (r *Registry) setState(name string, s State, reason string, since time.Time) {
	r.update(name, func(st *Status) {
		if st.State != s {
			st.Since = since
		}
		st.State, st.Reason = s, reason
	})
}

func (r *Registry) failed(name string) {
	r.update(name, func(st *Status) { st.Failures++ })
}

// Snapshot returns every device's status in config order.
func (r *Registry) Snapshot() []Status {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Status, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.m[n].clone())
	}
	return out
}

// Get returns one device's status.
func (r *Registry) Get(name string) (Status, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st, ok := r.m[name]
	if !ok {
		return Status{}, false
	}
	return st.clone(), true
}

func (s *Status) clone() Status {
	c := *s
	if s.LastScan != nil {
		v := cloneScan(*s.LastScan)
		c.LastScan = &v
	}
	if s.LastBadScan != nil {
		v := *s.LastBadScan
		v.Raw = cloneBytes(v.Raw)
		c.LastBadScan = &v
	}
	if s.LastFrameError != nil {
		v := *s.LastFrameError
		v.Raw = cloneBytes(v.Raw)
		c.LastFrameError = &v
	}
	if s.LastWeight != nil {
		v := *s.LastWeight
		v.Raw = cloneBytes(v.Raw)
		c.LastWeight = &v
	}
	c.LastRaw = cloneBytes(s.LastRaw)
	return c
}

func cloneScan(s Scan) Scan {
	s.Raw = cloneBytes(s.Raw)
	s.Data = cloneBytes(s.Data)
	return s
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}
