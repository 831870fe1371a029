package serialscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/tarm/serial"

	"github.com/depotd/depotd/devices"
)

// Defaults for settings a config entry leaves at zero. Most scanners leave the factory
// at 9600 8N1 with a CR suffix, which auto framing accepts.
const (
	DefaultBaud     = 9600
	DefaultDataBits = 8
	DefaultStopBits = 1
	// DefaultCharTimeout ends a frame in suffix `none` mode. tarm/serial times reads in
	// tenths of a second (termios VTIME), so shorter timeouts act as 100 ms.
	DefaultCharTimeout = 100 * time.Millisecond
	// StaleFrameAfter is how long an unterminated frame may wait for its suffix before it
	// is refused as ErrIncomplete; a scanner sends a whole frame in one burst.
	StaleFrameAfter = time.Second
	// readTimeout bounds each read so Run notices ctx and unplugging; VTIME's resolution.
	readTimeout = 100 * time.Millisecond
)

// ErrNotConnected is returned by Beep while the port is not open.
var ErrNotConnected = errors.New("scanner not connected")

// baudRates are the rates tarm/serial maps to termios constants on Linux.
var baudRates = map[int]bool{50: true, 75: true, 110: true, 134: true, 150: true, 200: true, 300: true,
	600: true, 1200: true, 1800: true, 2400: true, 4800: true, 9600: true, 19200: true, 38400: true,
	57600: true, 115200: true, 230400: true, 460800: true, 500000: true, 576000: true, 921600: true,
	1000000: true, 1152000: true, 1500000: true, 2000000: true, 2500000: true, 3000000: true,
	3500000: true, 4000000: true}

// CheckConfig reports every problem with a serial scanner entry, with its key path
// (path is e.g. "devices[2]"). It covers what devices.Config.Check does not.
func CheckConfig(c *devices.Config, path string, report func(key, msg string)) {
	if c.Baud != 0 && !baudRates[c.Baud] {
		report(path+".baud", fmt.Sprintf("unsupported baud rate %d", c.Baud))
	}
	switch c.DataBits {
	case 0, 7, 8:
	default:
		report(path+".data_bits", fmt.Sprintf("%d not supported (7 or 8)", c.DataBits))
	}
	if _, err := parseParity(c.Parity); err != nil {
		report(path+".parity", err.Error())
	}
	switch c.StopBits {
	case 0, 1, 2:
	default:
		report(path+".stop_bits", fmt.Sprintf("%d not supported (1 or 2)", c.StopBits))
	}
	if _, err := ParseSuffix(c.Suffix); err != nil {
		report(path+".suffix", err.Error())
	}
	for _, f := range []struct{ key, v string }{{"prefix", c.Prefix}, {"good_beep", c.GoodBeep}, {"bad_beep", c.BadBeep}} {
		if _, err := Unescape(f.v); err != nil {
			report(path+"."+f.key, err.Error())
		}
	}
	if c.MaxLength < 0 {
		report(path+".max_length", "must not be negative")
	}
	if c.CharTimeout < 0 {
		report(path+".char_timeout", "must not be negative")
	}
	if c.Layout != "" {
		report(path+".layout", "only for keyboard-wedge (evdev) scanners")
	}
	ReportSet(path, report, "only for scales", []Setting{{"unit", c.Unit != ""}, {"poll_interval", c.PollInterval != 0}, {"timeout", c.Timeout != 0}, {"checksum", c.Checksum != ""}, {"stable_frames", c.StableFrames != 0}})
	if c.Protocol != "" && c.Protocol != "serial" {
		report(path+".protocol", fmt.Sprintf("%q is not a scanner transport (serial or evdev)", c.Protocol))
	}
}

// Setting is a config key and whether the entry sets it.
type Setting struct {
	Key string
	Set bool
}

// ReportSet reports msg for every key that is set, in order (config errors read top to
// bottom); for settings that do not apply to a family, which must not be ignored silently.
func ReportSet(path string, report func(key, msg string), msg string, s []Setting) {
	for _, f := range s {
		if f.Set {
			report(path+"."+f.Key, msg)
		}
	}
}

func parseParity(s string) (serial.Parity, error) {
	switch s {
	case "", "none", "n", "N":
		return serial.ParityNone, nil
	case "even", "e", "E":
		return serial.ParityEven, nil
	case "odd", "o", "O":
		return serial.ParityOdd, nil
	}
	return 0, fmt.Errorf("unknown parity %q (none, even, odd)", s)
}

// Driver reads one serial scanner. Run may be called again after it returns (the
// supervisor reconnects); Beep may be called from any goroutine.
type Driver struct {
	name        string
	port        string
	serial      serial.Config
	framing     Framing
	charTimeout time.Duration
	good, bad   []byte
	log         *slog.Logger

	mu   sync.Mutex
	open *serial.Port // nil while not connected
}

// New checks cfg and returns a driver for it; nothing is opened until Run.
func New(cfg devices.Config, log *slog.Logger) (devices.Driver, error) {
	return NewDriver(cfg, log)
}

// NewDriver is New returning the concrete type, for callers that want Beep directly.
func NewDriver(cfg devices.Config, log *slog.Logger) (*Driver, error) {
	var problems []error
	report := func(key, msg string) { problems = append(problems, fmt.Errorf("%s: %s", key, msg)) }
	cfg.Check("device", report)
	CheckConfig(&cfg, "device", report)
	if len(problems) > 0 {
		return nil, fmt.Errorf("serial scanner %q: %w", cfg.Name, errors.Join(problems...))
	}
	parity, _ := parseParity(cfg.Parity)
	suffix, _ := ParseSuffix(cfg.Suffix)
	prefix, _ := Unescape(cfg.Prefix)
	good, _ := Unescape(cfg.GoodBeep)
	bad, _ := Unescape(cfg.BadBeep)
	d := &Driver{
		name: cfg.Name,
		port: cfg.Port,
		serial: serial.Config{
			Name:        cfg.Port,
			Baud:        orDefault(cfg.Baud, DefaultBaud),
			Size:        byte(orDefault(cfg.DataBits, DefaultDataBits)),
			Parity:      parity,
			StopBits:    serial.StopBits(orDefault(cfg.StopBits, DefaultStopBits)),
			ReadTimeout: readTimeout,
		},
		framing:     Framing{Suffix: suffix, Prefix: prefix, MaxLength: cfg.MaxLength},
		charTimeout: cfg.CharTimeout,
		good:        good,
		bad:         bad,
		log:         log.With("device", cfg.Name, "port", cfg.Port),
	}
	if d.charTimeout == 0 {
		d.charTimeout = DefaultCharTimeout
	}
	return d, nil
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// Run opens the port, reports connected, and delivers scans until ctx is done (nil) or
// the port fails. A vanished device (its path removed or pointing elsewhere, or the tty
// hung up) returns an error wrapping devices.ErrGone.
func (d *Driver) Run(ctx context.Context, sink devices.Sink) error {
	before, err := os.Stat(d.port)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.port, err)
	}
	cfg := d.serial
	p, err := serial.OpenPort(&cfg)
	if err != nil {
		return fmt.Errorf("open %s: %w", d.port, err)
	}
	d.setOpen(p)
	defer func() {
		d.setOpen(nil)
		p.Close()
	}()
	sink.State(devices.DeviceState{Device: d.name, Kind: devices.KindScanner, State: devices.StateConnected, Since: time.Now()})
	d.log.Info("scanner connected", "baud", cfg.Baud)

	fr := NewFramer(d.framing)
	buf := make([]byte, 1024)
	var last time.Time // of the last byte received
	fastEOF := 0
	for ctx.Err() == nil {
		start := time.Now()
		n, err := p.Read(buf)
		now := time.Now()
		if n > 0 {
			fastEOF = 0
			last = now
			d.deliver(sink, now, fr.Push(buf[:n]), nil)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO) {
				return fmt.Errorf("%w (%w)", err, devices.ErrGone) // err names the path
			}
			return fmt.Errorf("read %s: %w", d.port, err)
		}
		if n > 0 {
			continue
		}
		// A quiet line: VTIME expired, or the tty hung up (then reads return at once).
		if now.Sub(start) < readTimeout/2 {
			if fastEOF++; fastEOF >= 3 {
				return fmt.Errorf("read %s: hung up: %w", d.port, devices.ErrGone)
			}
		} else {
			fastEOF = 0
		}
		if after, err := os.Stat(d.port); err != nil || !os.SameFile(before, after) {
			return fmt.Errorf("read %s: device path changed or removed: %w", d.port, devices.ErrGone)
		}
		if fr.Pending() {
			quiet := now.Sub(last)
			switch {
			case d.framing.Suffix == SuffixNone && quiet >= d.charTimeout:
				d.deliver(sink, now, fr.Flush(), nil)
			case d.framing.Suffix != SuffixNone && quiet >= max(StaleFrameAfter, d.charTimeout):
				d.deliver(sink, now, fr.Flush(), ErrIncomplete)
			}
		}
	}
	return nil
}

// deliver hands frames to the sink; force refuses them all (an incomplete frame must not
// pass as a scan even if its bytes look fine).
func (d *Driver) deliver(sink devices.Sink, at time.Time, frames []Frame, force error) {
	for _, f := range frames {
		err := f.Err
		if force != nil && err == nil {
			err = fmt.Errorf("%w after %s of silence; raw %x", force, StaleFrameAfter, f.Raw)
		}
		if err != nil {
			d.log.Warn("bad scan", "reason", err.Error())
			sink.BadScan(devices.BadScan{Device: d.name, At: at, Raw: f.Raw, Reason: err.Error()})
			continue
		}
		d.log.Debug("scan", "aim", f.AIM, "len", len(f.Data))
		sink.Scan(devices.Scan{Device: d.name, At: at, Raw: f.Raw, Data: f.Data, AIM: f.AIM})
	}
}

func (d *Driver) setOpen(p *serial.Port) {
	d.mu.Lock()
	d.open = p
	d.mu.Unlock()
}

// Beep sends the configured good_beep or bad_beep bytes to the scanner (many scanners
// accept a host command to sound or light their indicator). With no bytes configured it
// does nothing. It returns ErrNotConnected while the port is closed.
func (d *Driver) Beep(good bool) error {
	b := d.bad
	if good {
		b = d.good
	}
	if len(b) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == nil {
		return fmt.Errorf("beep %s: %w", d.name, ErrNotConnected)
	}
	if _, err := d.open.Write(b); err != nil {
		return fmt.Errorf("beep %s: %w", d.name, err)
	}
	return nil
}
