package evdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/serialscan"
)

// EVIOCGRAB is _IOW('E', 0x90, int) (reference §2.2); argument 1 grabs, 0 releases.
const EVIOCGRAB = 0x40044590

// pollEvery bounds each read so Run notices ctx.
const pollEvery = 200 * time.Millisecond

// CheckConfig reports every problem with a keyboard-wedge scanner entry, with its key
// path, beyond what devices.Config.Check covers.
func CheckConfig(c *devices.Config, path string, report func(key, msg string)) {
	if _, err := LayoutByName(c.Layout); err != nil {
		report(path+".layout", err.Error())
	}
	if _, err := gsSubstitute(c.GSSubstitute); err != nil {
		report(path+".gs_substitute", err.Error())
	}
	if _, err := serialscan.Unescape(c.Prefix); err != nil {
		report(path+".prefix", err.Error())
	}
	if c.MaxLength < 0 {
		report(path+".max_length", "must not be negative")
	}
	serialscan.ReportSet(path, report, "not used by keyboard-wedge scanners (Enter ends a scan; they cannot be sent beep codes)",
		[]serialscan.Setting{{Key: "baud", Set: c.Baud != 0}, {Key: "data_bits", Set: c.DataBits != 0}, {Key: "parity", Set: c.Parity != ""},
			{Key: "stop_bits", Set: c.StopBits != 0}, {Key: "char_timeout", Set: c.CharTimeout != 0},
			{Key: "good_beep", Set: c.GoodBeep != ""}, {Key: "bad_beep", Set: c.BadBeep != ""}})
	serialscan.ReportSet(path, report, "only for scales",
		[]serialscan.Setting{{Key: "unit", Set: c.Unit != ""}, {Key: "poll_interval", Set: c.PollInterval != 0}, {Key: "timeout", Set: c.Timeout != 0}, {Key: "checksum", Set: c.Checksum != ""}, {Key: "stable_frames", Set: c.StableFrames != 0}})
	if c.Suffix != "" && c.Suffix != "auto" {
		report(path+".suffix", "keyboard-wedge scanners end a scan with Enter; leave suffix unset")
	}
}

func gsSubstitute(s string) (rune, error) {
	u, err := serialscan.Unescape(s)
	if err != nil {
		return 0, err
	}
	r := []rune(string(u))
	switch len(r) {
	case 0:
		return 0, nil
	case 1:
		return r[0], nil
	}
	return 0, fmt.Errorf("%q: one character expected", s)
}

// Driver reads one keyboard-wedge scanner from its evdev node.
type Driver struct {
	name   string
	port   string
	layout *Layout
	opts   Options
	log    *slog.Logger
}

// New checks cfg and returns a driver; nothing is opened until Run.
func New(cfg devices.Config, log *slog.Logger) (devices.Driver, error) {
	var problems []error
	report := func(key, msg string) { problems = append(problems, fmt.Errorf("%s: %s", key, msg)) }
	cfg.Check("device", report)
	CheckConfig(&cfg, "device", report)
	if len(problems) > 0 {
		return nil, fmt.Errorf("keyboard-wedge scanner %q: %w", cfg.Name, errors.Join(problems...))
	}
	layout, _ := LayoutByName(cfg.Layout)
	sub, _ := gsSubstitute(cfg.GSSubstitute)
	prefix, _ := serialscan.Unescape(cfg.Prefix)
	return &Driver{
		name:   cfg.Name,
		port:   cfg.Port,
		layout: layout,
		opts:   Options{GSSubstitute: sub, Framing: serialscan.Framing{Prefix: prefix, MaxLength: cfg.MaxLength}},
		log:    log.With("device", cfg.Name, "port", cfg.Port),
	}, nil
}

// Run opens the event node, grabs it so scans do not type into the console, and
// delivers scans until ctx is done (nil) or the device goes (an error wrapping
// devices.ErrGone: the kernel answers ENODEV once the USB device is unplugged).
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	f, err := os.OpenFile(d.port, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.port, err)
	}
	defer f.Close()
	if err := grab(f, 1); err != nil {
		return fmt.Errorf("grab %s (another program may hold it): %w", d.port, err)
	}
	defer grab(f, 0) //nolint:errcheck // closing releases the grab anyway
	sink.State(devices.DeviceState{Device: d.name, Kind: devices.KindScanner, State: devices.StateConnected, Since: time.Now()})
	d.log.Info("keyboard-wedge scanner connected", "layout", d.layout.Name)
	return d.read(ctx, f, EventSize, sink)
}

func grab(f *os.File, on int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) { ioErr = unix.IoctlSetInt(int(fd), EVIOCGRAB, on) }); err != nil {
		return err
	}
	return ioErr
}

// deadlineReader is an event source whose reads can be bounded: the evdev node, or a
// pipe carrying a recorded stream in tests.
type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// read decodes events of size bytes from r into scans until ctx is done or r fails.
func (d *Driver) read(ctx context.Context, r deadlineReader, size int, sink devices.Sink) error {
	dec := NewDecoder(d.layout, d.opts)
	buf := make([]byte, 64*size)
	have := 0
	for ctx.Err() == nil {
		if err := r.SetReadDeadline(time.Now().Add(pollEvery)); err != nil {
			return fmt.Errorf("read %s: %w", d.port, err)
		}
		n, err := r.Read(buf[have:])
		have += n
		// evdev returns whole events; a pipe may not, so keep a partial one.
		whole := have - have%size
		for off := 0; off < whole; off += size {
			if fr, ok := dec.Event(ParseEvent(buf[off:], size)); ok {
				d.deliver(sink, fr)
			}
		}
		have = copy(buf, buf[whole:have])
		switch {
		case err == nil, errors.Is(err, os.ErrDeadlineExceeded):
		case errors.Is(err, syscall.ENODEV), errors.Is(err, io.EOF):
			return fmt.Errorf("read %s: %w (%w)", d.port, err, devices.ErrGone)
		default:
			return fmt.Errorf("read %s: %w", d.port, err)
		}
	}
	return nil
}

func (d *Driver) deliver(sink devices.Sink, f serialscan.Frame) {
	now := time.Now()
	if f.Err != nil {
		d.log.Warn("bad scan", "reason", f.Err.Error())
		sink.BadScan(devices.BadScan{Device: d.name, At: now, Raw: f.Raw, Reason: f.Err.Error()})
		return
	}
	sink.Scan(devices.Scan{Device: d.name, At: now, Raw: f.Raw, Data: f.Data, AIM: f.AIM})
}
