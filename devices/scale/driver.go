package scale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/hidpos"
)

// Zeroer is implemented by drivers whose protocol can zero the scale (mt-sics,
// toledo-8217, nci-scp01, hid-pos).
type Zeroer interface {
	Zero(ctx context.Context) error
}

// Tarer is implemented by drivers whose protocol can tare (mt-sics, toledo-8217).
type Tarer interface {
	Tare(ctx context.Context) error
}

// TareClearer is implemented by drivers whose protocol can clear the tare (mt-sics via
// TAC, toledo-8217 via C).
type TareClearer interface {
	ClearTare(ctx context.Context) error
}

// New returns the driver for cfg.Protocol. Serial settings are the protocol's defaults
// overridden by cfg; zero durations take the documented defaults.
func New(cfg devices.Config, log *slog.Logger) (devices.Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "scale", "device", cfg.Name, "protocol", cfg.Protocol)
	var p protocol
	switch cfg.Protocol {
	case HIDPOS:
		d, err := hidpos.New(cfg, log)
		if err != nil {
			return nil, err // not a nil *hidpos.Driver in a non-nil interface
		}
		return d, nil
	case MTSICS:
		p = &sicsProto{}
	case Toledo8217:
		u := cfg.Unit
		if u == "" {
			u = DefaultUnit
		}
		if _, err := parseUnit(u); err != nil {
			return nil, fmt.Errorf("scale %s: unit: %w", cfg.Name, err)
		}
		p = &t8217Proto{unit: u}
	case NCISCP01:
		p = &nciProto{}
	case ToledoContinuous:
		if cfg.Checksum != "" && !slices.Contains(ChecksumModes(), cfg.Checksum) {
			return nil, fmt.Errorf("scale %s: checksum %q is not auto, on or off", cfg.Name, cfg.Checksum)
		}
		p = &contProto{checksum: cfg.Checksum}
	default:
		return nil, fmt.Errorf("scale %s: %q: %w (valid: %s)", cfg.Name, cfg.Protocol, ErrUnknownProtocol, strings.Join(Protocols(), ", "))
	}
	if cfg.StableFrames < 0 || cfg.StableFrames > MaxStableFrames {
		return nil, fmt.Errorf("scale %s: stable_frames %d is not between 1 and %d", cfg.Name, cfg.StableFrames, MaxStableFrames)
	}
	s, err := ResolveSerial(cfg)
	if err != nil {
		return nil, fmt.Errorf("scale %s: %w", cfg.Name, err)
	}
	d := &Driver{cfg: cfg, serial: s, log: log, proto: p, reqs: make(chan request), stableFrames: StableFrames(cfg)}
	d.poll, d.timeout = cfg.PollInterval, cfg.Timeout
	if d.poll <= 0 {
		d.poll = DefaultPollInterval
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	// Expose Zero/Tare/ClearTare only where the protocol has them, so a type assertion
	// to Zeroer or Tarer tells the caller what the scale can do.
	switch cfg.Protocol {
	case MTSICS, Toledo8217:
		return fullDriver{zeroDriver{runDriver{d}}}, nil
	case NCISCP01:
		return zeroDriver{runDriver{d}}, nil
	}
	return runDriver{d}, nil
}

type runDriver struct{ d *Driver }

func (r runDriver) Run(ctx context.Context, sink devices.Sink) error { return r.d.Run(ctx, sink) }

type zeroDriver struct{ runDriver }

func (z zeroDriver) Zero(ctx context.Context) error { return z.d.Zero(ctx) }

type fullDriver struct{ zeroDriver }

func (f fullDriver) Tare(ctx context.Context) error      { return f.d.Tare(ctx) }
func (f fullDriver) ClearTare(ctx context.Context) error { return f.d.ClearTare(ctx) }

// protocol is what differs between the serial protocols; the Driver does the I/O.
type protocol interface {
	split(data []byte) (advance int, frame []byte, noise int)
	// demand protocols return the poll command; continuous ones nil.
	pollCmd() []byte
	// hello runs once after the port opens (may do nothing).
	hello(ctx context.Context, x *exchanger) error
	// reading decodes a frame received in answer to a poll (or streamed). ok is false for
	// a valid frame that carries no reading to deliver (a reply to something else, an
	// all-clear status); err is set for a frame that is not valid.
	reading(frame []byte) (r Reading, ok bool, err error)
	// command returns the bytes of a zero/tare/clear request and the function that judges
	// its reply; ErrRefused-wrapped errors.ErrUnsupported when the protocol lacks it.
	command(op string) (cmd []byte, accept acceptFunc, err error)
	fallbackUnit() string
}

// acceptFunc judges one frame received after a command: done=false skips the frame (noise
// or an unrelated reply), done=true ends the exchange with err.
type acceptFunc func(frame []byte) (done bool, err error)

// Driver is the serial scale driver (mt-sics, toledo-8217, nci-scp01, toledo-continuous).
// Run owns the port; Zero, Tare and ClearTare hand their command to the running Run and
// wait for the scale's answer. New wraps it so that only the commands the protocol has
// are visible through Zeroer, Tarer and TareClearer.
type Driver struct {
	cfg           devices.Config
	serial        Serial
	log           *slog.Logger
	proto         protocol
	poll, timeout time.Duration
	stableFrames  int

	reqs chan request
	mu   sync.Mutex
	live chan struct{} // non-nil while Run runs; closed when it returns
}

type request struct {
	op   string
	done chan error
}

// Serial returns the resolved serial settings.
func (d *Driver) Serial() Serial { return d.serial }

// Run opens the port and delivers readings until ctx is done (nil) or the scale fails:
// open error, write error, a device node that vanished, or no valid frame for the
// configured timeout (ErrTimeout). It reports StateConnected once the scale has answered.
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	d.mu.Lock()
	if d.live != nil {
		d.mu.Unlock()
		return errors.New("scale driver already running")
	}
	live := make(chan struct{})
	d.live = live
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.live = nil
		d.mu.Unlock()
		close(live)
	}()

	l, err := openLink(d.cfg.Port, d.serial, d.proto.split)
	if err != nil {
		return err
	}
	defer l.Close()
	x := &exchanger{l: l, timeout: d.timeout}
	r := d.newRunner(sink)
	r.x = x
	l.onNoise = r.noise
	if err = d.proto.hello(ctx, x); err == nil {
		if d.proto.pollCmd() == nil {
			err = r.stream(ctx)
		} else {
			err = r.demand(ctx)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	l.flush()
	if len(l.buf) > 0 {
		// The cable was pulled, or the scale fell silent, in the middle of a frame.
		r.frameError(l.buf, fmt.Sprintf("frame cut short: %d bytes, then the scale went silent or away", len(l.buf)))
	}
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrGone) {
		// A silent or vanished scale is disconnected, not broken: the supervisor keeps
		// retrying without calling for attention.
		return fmt.Errorf("scale %s on %s: %w (%w)", d.cfg.Name, d.cfg.Port, err, devices.ErrGone)
	}
	return fmt.Errorf("scale %s on %s: %w", d.cfg.Name, d.cfg.Port, err)
}

type runner struct {
	d         *Driver
	sink      devices.Sink
	errs      devices.FrameErrorSink // nil when sink takes no FrameErrors
	x         *exchanger
	connected bool
	gate      stableGate
}

func (d *Driver) newRunner(sink devices.Sink) *runner {
	r := &runner{d: d, sink: sink, gate: stableGate{need: d.stableFrames}}
	r.errs, _ = sink.(devices.FrameErrorSink)
	return r
}

func (r *runner) valid() {
	if !r.connected {
		r.connected = true
		r.sink.State(devices.DeviceState{Device: r.d.cfg.Name, Kind: devices.KindScale, State: devices.StateConnected, Since: time.Now()})
		r.d.log.Info("scale answering", "port", r.d.cfg.Port, "serial", r.d.serial.String())
	}
}

// frame handles one frame received in answer to a poll, or streamed: a frame that is not
// valid is refused; a stable weight is delivered only once the gate has let it through;
// anything else that carries a reading (motion, overload, ...) is delivered at once.
func (r *runner) frame(frame []byte) error {
	rd, ok, err := r.d.proto.reading(frame)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return err
		}
		r.bad(frame, err)
		return err
	}
	r.valid()
	switch {
	case !ok:
		r.gate.reset()
	case rd.HasValue && rd.Stable && rd.Status == devices.WeightOK:
		if r.gate.pass(frame) {
			r.deliver(rd, frame)
		}
	default:
		r.gate.reset()
		r.deliver(rd, frame)
	}
	return nil
}

func (r *runner) deliver(rd Reading, raw []byte) {
	w, err := rd.Weight(r.d.cfg.Name, time.Now(), raw, r.d.proto.fallbackUnit())
	if err != nil {
		w = devices.Weight{Device: r.d.cfg.Name, At: time.Now(), Unit: r.d.proto.fallbackUnit(), Status: devices.WeightError, Raw: append([]byte(nil), raw...)}
		r.d.log.Warn("scale reading refused", "err", err)
	}
	r.sink.Weight(w)
}

func (r *runner) bad(frame []byte, err error) {
	r.d.log.Debug("scale frame dropped", "frame", fmt.Sprintf("%q", frame), "err", err)
	r.frameError(frame, err.Error())
}

// noise is the framer's report of a run of bytes between frames that were no frame.
func (r *runner) noise(n int, sample []byte) {
	r.d.log.Debug("scale line noise", "bytes", n, "sample", fmt.Sprintf("%q", sample))
	r.frameError(sample, fmt.Sprintf("%d bytes of line noise between frames", n))
}

// frameError counts what was refused, restarts the stable count (a stable weight needs
// its frames consecutive, with nothing bad between them) and reports it.
func (r *runner) frameError(raw []byte, reason string) {
	r.gate.reset()
	if r.errs != nil {
		r.errs.FrameError(devices.FrameError{Device: r.d.cfg.Name, At: time.Now(), Raw: append([]byte(nil), raw...), Reason: reason})
	}
}

// stableGate holds a stable weight back until need consecutive identical stable frames
// have come, with no refused frame, noise or other reading between them (reset).
type stableGate struct {
	need int
	last []byte // the run's frame, parity bits cleared
	run  int
}

func (g *stableGate) reset() { g.run = 0 }

// pass counts one stable frame and reports whether its weight may be delivered.
func (g *stableGate) pass(frame []byte) bool {
	same := g.run > 0 && len(frame) == len(g.last)
	for i := 0; same && i < len(frame); i++ {
		same = frame[i]&0x7f == g.last[i]
	}
	if !same {
		g.last, g.run = g.last[:0], 0
		for _, c := range frame {
			g.last = append(g.last, c&0x7f)
		}
	}
	g.run++
	return g.run >= g.need
}

// demand polls at poll_interval; between polls it serves zero/tare requests. A poll
// whose reply is lost (line noise) is simply repeated; the scale counts as not answering
// only when no valid reply, to a poll or to a command, has come for timeout.
func (r *runner) demand(ctx context.Context) error {
	t := time.NewTicker(r.d.poll)
	defer t.Stop()
	last := time.Now()
	for {
		err := r.pollOnce(ctx)
		switch {
		case err == nil:
			last = time.Now()
		case errors.Is(err, ErrTimeout):
			if time.Since(last) >= r.d.timeout {
				return fmt.Errorf("no valid reply for %v: %w", r.d.timeout, ErrTimeout)
			}
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case req := <-r.d.reqs:
			err := r.command(ctx, req.op)
			if err == nil || errors.Is(err, ErrRefused) {
				// The scale answered (done or refused): a valid reply, like a poll's. A
				// slow zero followed by one lost poll reply is not a silent scale.
				last = time.Now()
			}
			req.done <- err
		case <-t.C:
		}
	}
}

func (r *runner) pollOnce(ctx context.Context) error {
	return r.x.exchangeWithin(ctx, r.x.replyWait(), r.d.proto.pollCmd(), func(frame []byte) (bool, error) {
		if err := r.frame(frame); errors.Is(err, ErrRefused) {
			// The scale understood nothing of the poll: wrong protocol, or a
			// level-0-less MT-SICS device. Fail so the supervisor shows the reason.
			return true, err
		} else if err != nil {
			return false, nil // refused and counted; wait for the reply
		}
		return true, nil
	})
}

func (r *runner) command(ctx context.Context, op string) error {
	cmd, accept, err := r.d.proto.command(op)
	if err != nil {
		return err
	}
	if err := r.x.exchange(ctx, cmd, accept); err != nil {
		return err
	}
	if h, ok := r.d.proto.(interface {
		afterCommand(context.Context, *exchanger)
	}); ok {
		h.afterCommand(ctx, r.x)
	}
	return nil
}

// stream reads continuous frames until ctx is done or timeout passes without a valid one.
func (r *runner) stream(ctx context.Context) error {
	last := time.Now()
	for {
		frame, err := r.x.l.next(ctx, last.Add(r.d.timeout))
		if errors.Is(err, errDeadline) {
			return fmt.Errorf("no valid frame for %v: %w", r.d.timeout, ErrTimeout)
		}
		if err != nil {
			return err
		}
		if err := r.frame(frame); err != nil {
			continue
		}
		last = time.Now()
		// Continuous protocols take no commands; refuse queued ones at once.
		select {
		case req := <-r.d.reqs:
			req.done <- fmt.Errorf("%s: %w", r.d.cfg.Protocol, errors.ErrUnsupported)
		default:
		}
	}
}

// exchanger sends a command and waits up to timeout for the frame that answers it.
type exchanger struct {
	l       *link
	timeout time.Duration
}

// maxReplyWait bounds the wait for one poll's reply: "one second should be more than
// adequate for use as a time-out value" (DIVA service manual §6.1.1, NCI protocol); the
// other demand protocols answer as fast.
const maxReplyWait = time.Second

// replyWait leaves room within timeout for a second poll after a lost reply.
func (x *exchanger) replyWait() time.Duration { return min(x.timeout/2, maxReplyWait) }

// exchange sends cmd and waits up to the full timeout for its answer (commands: zero
// waits for the scale to settle).
func (x *exchanger) exchange(ctx context.Context, cmd []byte, accept acceptFunc) error {
	return x.exchangeWithin(ctx, x.timeout, cmd, accept)
}

func (x *exchanger) exchangeWithin(ctx context.Context, wait time.Duration, cmd []byte, accept acceptFunc) error {
	if err := x.l.send(cmd); err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		frame, err := x.l.next(ctx, deadline)
		if errors.Is(err, errDeadline) {
			return fmt.Errorf("no answer to %q for %v: %w", strings.TrimSpace(string(cmd)), wait, ErrTimeout)
		}
		if err != nil {
			return err
		}
		done, err := accept(frame)
		if done {
			return err
		}
	}
}

func (d *Driver) do(ctx context.Context, op string) error {
	d.mu.Lock()
	live := d.live
	d.mu.Unlock()
	if live == nil {
		return ErrNotRunning
	}
	req := request{op: op, done: make(chan error, 1)}
	select {
	case d.reqs <- req:
	case <-live:
		return ErrNotRunning
	case <-ctx.Done():
		return ctx.Err()
	}
	// Run answers every request it has taken before it returns.
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Zero asks the scale to zero. Only protocols with a zero command support it; others
// return an error wrapping errors.ErrUnsupported.
func (d *Driver) Zero(ctx context.Context) error { return d.do(ctx, "zero") }

// Tare asks the scale to tare the load on it.
func (d *Driver) Tare(ctx context.Context) error { return d.do(ctx, "tare") }

// ClearTare asks the scale to clear its tare.
func (d *Driver) ClearTare(ctx context.Context) error { return d.do(ctx, "clear-tare") }

func unsupported(proto, op string) error {
	return fmt.Errorf("%s has no %s command: %w", proto, op, errors.ErrUnsupported)
}
