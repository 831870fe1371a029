package hidpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/depotd/depotd/devices"
)

// ErrTimeout: no report for the configured timeout (only when timeout is set: many HID
// scales report only when the weight changes, so by default an unplug is noticed through
// the read error the kernel gives when the device goes away).
var ErrTimeout = errors.New("hid scale not reporting")

// ErrNotRunning: Zero was called while Run was not running.
var ErrNotRunning = errors.New("hid scale driver not running")

// zeroReport is the output report that zeroes the scale: report ID 2 with the Zero Scale
// bit (reference devices.md §1.7).
var zeroReport = []byte{0x02, 0x02}

// Driver reads a HID POS scale from its hidraw node.
type Driver struct {
	cfg devices.Config
	log *slog.Logger

	mu sync.Mutex
	f  *os.File // while Run runs
}

// New returns a driver for cfg (protocol hid-pos; port a /dev/hidrawN or a stable udev
// link to one). cfg.Timeout, when set, is the longest silence before Run fails.
func New(cfg devices.Config, log *slog.Logger) (*Driver, error) {
	if cfg.Port == "" {
		return nil, fmt.Errorf("hid scale %s: no port", cfg.Name)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Driver{cfg: cfg, log: log}, nil
}

// Run opens the hidraw node and delivers a Weight per report until ctx is done (nil) or
// reading fails (unplugged: the kernel fails the read). The first report after opening is
// discarded: it can be stale (usbscale).
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	// Read-only: weighing needs no more, and Zero opens the node for writing on its own
	// (hidraw allows several opens), so a udev rule granting read access is enough to weigh.
	f, err := os.OpenFile(d.cfg.Port, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("hid scale %s: open %s: %w", d.cfg.Name, d.cfg.Port, err)
	}
	d.mu.Lock()
	d.f = f
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.f = nil
		d.mu.Unlock()
		f.Close()
	}()
	// An expired deadline unblocks a pending read (hidraw and FIFOs are pollable), so Run
	// returns promptly on cancel.
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()

	first, connected := true, false
	err = ReadReports(deadlineReader{ctx: ctx, f: f, timeout: d.cfg.Timeout}, func(rep []byte) error {
		if first {
			first = false
			return nil
		}
		r, err := Decode(rep)
		if err != nil {
			d.log.Debug("hid scale report dropped", "report", fmt.Sprintf("% x", rep), "err", err)
			return nil
		}
		if !connected {
			connected = true
			sink.State(devices.DeviceState{Device: d.cfg.Name, Kind: devices.KindScale, State: devices.StateConnected, Since: time.Now()})
		}
		w, err := r.Weight(d.cfg.Name, time.Now(), rep)
		if err != nil {
			d.log.Warn("hid scale reading refused", "err", err)
			w = devices.Weight{Device: d.cfg.Name, At: time.Now(), Unit: "kg", Status: devices.WeightError, Raw: append([]byte(nil), rep...)}
		}
		sink.Weight(w)
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = fmt.Errorf("no report for %v: %w (%w)", d.cfg.Timeout, ErrTimeout, devices.ErrGone)
	case errors.Is(err, io.EOF):
		// The node's other end went away (a pipe of recorded reports ran out).
		err = fmt.Errorf("%w (%w)", err, devices.ErrGone)
	}
	// An unplugged hidraw node fails reads with ENODEV, which the supervisor already
	// classifies as disconnected.
	return fmt.Errorf("hid scale %s on %s: %w", d.cfg.Name, d.cfg.Port, err)
}

type deadlineReader struct {
	ctx     context.Context
	f       *os.File
	timeout time.Duration
}

func (r deadlineReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	if r.timeout > 0 {
		// A cancel landing between the check above and this line is overwritten; Run
		// then returns within timeout instead of at once.
		// Ignored (ErrNoDeadline) where the file cannot poll; reads then just block.
		_ = r.f.SetReadDeadline(time.Now().Add(r.timeout))
	}
	return r.f.Read(b)
}

// ReadReports reads ReportSize-byte reports from r and hands each to fn until r fails
// (io.EOF included, returned as is) or fn returns an error. On a hidraw node every read
// returns one report; on a pipe or file of recorded reports, ReadFull keeps the same
// framing.
func ReadReports(r io.Reader, fn func(report []byte) error) error {
	buf := make([]byte, ReportSize)
	for {
		if _, err := io.ReadFull(r, buf); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("short report: %w", err)
			}
			return err
		}
		if err := fn(buf); err != nil {
			return err
		}
	}
}

// Zero sends the Zero Scale output report. It needs write access to the node.
func (d *Driver) Zero(ctx context.Context) error {
	d.mu.Lock()
	running := d.f != nil
	d.mu.Unlock()
	if !running {
		return ErrNotRunning
	}
	w, err := os.OpenFile(d.cfg.Port, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("hid scale %s: zero: %w", d.cfg.Name, err)
	}
	defer w.Close()
	if _, err := w.Write(zeroReport); err != nil {
		return fmt.Errorf("hid scale %s: zero: %w", d.cfg.Name, err)
	}
	return nil
}
