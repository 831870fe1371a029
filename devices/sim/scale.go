package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// Scale protocol names, as in depotd's config.
const (
	ScaleMTSICS           = "mt-sics"
	ScaleToledo8217       = "toledo-8217"
	ScaleNCISCP01         = "nci-scp01"
	ScaleToledoContinuous = "toledo-continuous"
)

// ScaleOptions configure a simulated scale. Zero values take the defaults noted.
type ScaleOptions struct {
	// Unit the scale weighs in: g, kg (default), lb or oz. toledo-continuous has no oz.
	Unit string
	// Decimals shown; default 3 for kg, 0 for g, 2 for lb and oz (nci-scp01: 2, or 0 for g,
	// its xxxx.xx field).
	Decimals int32
	// Interval between continuous frames and SIR replies; default 100ms.
	Interval time.Duration
	// NoChecksum drops the optional checksum character of toledo-continuous frames.
	NoChecksum bool
	// SerialNumber answered to MT-SICS I4 and @; default "0123456789".
	SerialNumber string
}

// Scale simulates a scale on a Port, answering its protocol's commands byte for byte as
// the manual gives them (see devices/scale's catalogue for the sources). The load, motion,
// overload, underload and line noise are settable while it runs; Port().Unplug/Replug
// simulate the cable.
//
// Simplifications, all on the safe side for a driver: MT-SICS S answers S I at once when
// the load is moving (a balance would first wait for its stability timeout); commands
// are answered without the weighing-cycle delay.
type Scale struct {
	port  *Port
	proto string
	opts  ScaleOptions

	mu                          sync.Mutex
	load, zero, tare            decimal.Decimal
	motion, over, under, noise  bool
	noiseCount, commands, polls int
	sir                         bool
	zeroDelay                   time.Duration // SlowZero: the next zero's reply waits this long
	dropAfterZero, drop         int           // SlowZero: weight polls left unanswered after it
}

// NewScale returns a simulator for protocol on port; Run serves it.
func NewScale(port *Port, protocol string, opts ScaleOptions) (*Scale, error) {
	switch protocol {
	case ScaleMTSICS, ScaleToledo8217, ScaleNCISCP01, ScaleToledoContinuous:
	default:
		return nil, fmt.Errorf("sim: unknown scale protocol %q", protocol)
	}
	if opts.Unit == "" {
		opts.Unit = "kg"
	}
	switch opts.Unit {
	case "g", "kg", "lb":
	case "oz":
		if protocol == ScaleToledoContinuous {
			return nil, errors.New("sim: toledo-continuous frames have no ounces")
		}
	default:
		return nil, fmt.Errorf("sim: unit %q", opts.Unit)
	}
	if opts.Decimals == 0 {
		switch {
		case opts.Unit == "g":
		case protocol == ScaleNCISCP01 || opts.Unit == "lb" || opts.Unit == "oz":
			opts.Decimals = 2
		default:
			opts.Decimals = 3
		}
	}
	if opts.Interval == 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.SerialNumber == "" {
		opts.SerialNumber = "0123456789"
	}
	return &Scale{port: port, proto: protocol, opts: opts}, nil
}

// Port is the simulated serial port (Link for the driver, Unplug/Replug for tests).
func (s *Scale) Port() *Port { return s.port }

// SetLoad puts a load on the platter, in the scale's unit (gross, before zero and tare).
func (s *Scale) SetLoad(v decimal.Decimal) {
	s.mu.Lock()
	s.load = v
	s.mu.Unlock()
}

// SetMotion makes the reading unstable (true) or settled (false).
func (s *Scale) SetMotion(on bool) { s.mu.Lock(); s.motion = on; s.mu.Unlock() }

// SetOverload puts the scale over capacity.
func (s *Scale) SetOverload(on bool) { s.mu.Lock(); s.over = on; s.mu.Unlock() }

// SetUnderload puts the scale under zero (below its lower range).
func (s *Scale) SetUnderload(on bool) { s.mu.Lock(); s.under = on; s.mu.Unlock() }

// SetNoise adds line noise: garbage bytes before every reply, every third reply of a
// demand protocol with its terminator garbled (so it and what follows it are lost); for
// continuous output, garbage before every fifth frame and, when checksummed, that frame's
// weight digit corrupted (its checksum left as it was). Four clean frames in five leave a
// driver that needs three identical frames in a row room to read a stable weight.
func (s *Scale) SetNoise(on bool) { s.mu.Lock(); s.noise = on; s.mu.Unlock() }

// SlowZero makes the next zero command take delay before the scale answers it (a balance
// waiting to settle), and the thenDrop weight polls that follow it go unanswered (replies
// lost on the line). Demand protocols only.
func (s *Scale) SlowZero(delay time.Duration, thenDrop int) {
	s.mu.Lock()
	s.zeroDelay, s.dropAfterZero = delay, thenDrop
	s.mu.Unlock()
}

// Tare is the tare the scale holds, in its unit.
func (s *Scale) Tare() decimal.Decimal { s.mu.Lock(); defer s.mu.Unlock(); return s.tare }

// Displayed is the weight the scale shows: load − zero − tare.
func (s *Scale) Displayed() decimal.Decimal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.displayed()
}

func (s *Scale) displayed() decimal.Decimal { return s.load.Sub(s.zero).Sub(s.tare) }

// Commands counts the commands the scale has received (all protocols but continuous).
func (s *Scale) Commands() int { s.mu.Lock(); defer s.mu.Unlock(); return s.commands }

// Run serves the scale until ctx is done. While unplugged it waits for Replug.
//
// A demand-protocol simulator's read is cut short on cancel by a read deadline. Until
// Port's deadlines take effect on the pty master (see Port), close or unplug the port
// after cancelling, which cuts the read short too; Run then returns.
func (s *Scale) Run(ctx context.Context) error {
	for {
		if err := s.port.WaitPlugged(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var err error
		if s.proto == ScaleToledoContinuous {
			err = s.stream(ctx)
		} else {
			err = s.serve(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrUnplugged):
			continue
		default:
			return err
		}
	}
}

func (s *Scale) write(b []byte) error {
	_, err := s.port.Write(b)
	return err
}

// serve answers commands of the demand protocols. A reader goroutine owned by serve
// blocks in Port.Read; serve returns when ctx is done and the reader has stopped, which
// the read deadline set on cancel ensures (or Unplug/Close, which cut a read short).
//
// Only the reader's error ends serve on an unplug. A reply that fails to write because
// the cable was just pulled is dropped: were serve to return then, the reader could
// already be reading the next plug's pty and swallow the driver's first command.
func (s *Scale) serve(ctx context.Context) error {
	type chunk struct {
		b   []byte
		err error
	}
	in := make(chan chunk)
	quit := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			buf := make([]byte, 256)
			n, err := s.port.Read(buf)
			if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
				select {
				case <-quit:
					return
				default:
					continue
				}
			}
			select {
			case in <- chunk{buf[:n], err}:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	defer func() {
		close(quit)
		_ = s.port.SetReadDeadline(time.Now()) // cut a pending read short
		<-readerDone
	}()
	if err := s.port.SetReadDeadline(time.Time{}); err != nil {
		return err
	}
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.mu.Lock()
			sir := s.sir
			s.mu.Unlock()
			if sir {
				// SIR: a weight every interval until the next command.
				if err := s.write(s.sicsWeight(false)); err != nil && !errors.Is(err, ErrUnplugged) {
					return err
				}
			}
		case c := <-in:
			buf = append(buf, c.b...)
			for {
				cmd, rest, ok := s.nextCommand(buf)
				if !ok {
					break
				}
				buf = rest
				if err := s.answer(ctx, cmd); err != nil && !errors.Is(err, ErrUnplugged) {
					return err
				}
			}
			if len(buf) > 1024 {
				buf = buf[:0]
			}
			if c.err != nil {
				return c.err
			}
		}
	}
}

// nextCommand cuts one command off buf: MT-SICS ends commands in CR LF (a lone CR or LF is
// accepted), NCI in CR, Toledo 8217 commands are single letters.
func (s *Scale) nextCommand(buf []byte) (cmd string, rest []byte, ok bool) {
	if len(buf) == 0 {
		return "", buf, false
	}
	if s.proto == ScaleToledo8217 {
		return string(buf[:1]), buf[1:], true
	}
	i := bytes.IndexAny(buf, "\r\n")
	if i < 0 {
		return "", buf, false
	}
	cmd = string(buf[:i])
	rest = buf[i+1:]
	if buf[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	if cmd == "" {
		return s.nextCommand(rest)
	}
	return cmd, rest, true
}

func (s *Scale) answer(ctx context.Context, cmd string) error {
	s.mu.Lock()
	s.commands++
	noise := s.noise
	if noise {
		s.noiseCount++
	}
	var reply []byte
	switch s.proto {
	case ScaleMTSICS:
		reply = s.sics(cmd)
	case ScaleToledo8217:
		reply = s.t8217(cmd)
	case ScaleNCISCP01:
		reply = s.nci(cmd)
	}
	var delay time.Duration
	switch {
	case cmd == "Z" && s.zeroDelay > 0:
		delay, s.zeroDelay = s.zeroDelay, 0
		s.drop, s.dropAfterZero = s.dropAfterZero, 0
	case cmd == "W" || cmd == "SI" || cmd == "S":
		if s.drop > 0 {
			s.drop--
			reply = nil
		}
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	if noise {
		// Garbage the protocol's framing discards: a junk line for MT-SICS, bytes without
		// a frame start for the others.
		junk := []byte{0xff, 0x00, '~', 0x7f}
		if s.proto == ScaleMTSICS {
			junk = []byte("\xff~#\x00\r\n")
		}
		if err := s.write(junk); err != nil {
			return err
		}
	}
	if reply == nil {
		return nil
	}
	if noise && s.noiseCountNow()%3 == 0 {
		// Every third reply loses its terminator to noise: the driver must drop it (and
		// whatever it runs into), never read a weight from it, and poll again.
		reply = append([]byte(nil), reply...)
		reply[len(reply)-1] = '#'
	}
	return s.write(reply)
}

func (s *Scale) noiseCountNow() int { s.mu.Lock(); defer s.mu.Unlock(); return s.noiseCount }

// --- MT-SICS (s.mu held) --------------------------------------------------------------

func (s *Scale) sics(cmd string) []byte {
	if cmd != "SIR" {
		s.sir = false
	}
	stable := !s.motion && !s.over && !s.under
	switch cmd {
	case "@", "I4":
		return fmt.Appendf(nil, "I4 A \"%s\"\r\n", s.opts.SerialNumber)
	case "S":
		if s.motion && !s.over && !s.under {
			return []byte("S I\r\n")
		}
		return s.sicsWeight(true)
	case "SI":
		return s.sicsWeight(true)
	case "SIR":
		s.sir = true
		return s.sicsWeight(true)
	case "Z":
		switch {
		case s.over:
			return []byte("Z +\r\n")
		case s.under:
			return []byte("Z -\r\n")
		case !stable:
			return []byte("Z I\r\n")
		}
		s.zero = s.load.Sub(s.tare)
		return []byte("Z A\r\n")
	case "T":
		switch {
		case s.over:
			return []byte("T +\r\n")
		case s.under:
			return []byte("T -\r\n")
		case !stable:
			return []byte("T I\r\n")
		}
		s.tare = s.load.Sub(s.zero)
		return fmt.Appendf(nil, "T S %10s %s\r\n", s.tare.StringFixed(s.opts.Decimals), s.opts.Unit)
	case "TA":
		return fmt.Appendf(nil, "TA A %10s %s\r\n", s.tare.StringFixed(s.opts.Decimals), s.opts.Unit)
	case "TAC":
		s.tare = decimal.Zero
		return []byte("TAC A\r\n")
	}
	return []byte("ES\r\n")
}

// sicsWeight formats an S reply: "S S     100.00 g" (ID, status, value right-aligned in
// ten columns, unit). locked says whether s.mu is held.
func (s *Scale) sicsWeight(locked bool) []byte {
	if !locked {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	switch {
	case s.over:
		return []byte("S +\r\n")
	case s.under:
		return []byte("S -\r\n")
	}
	st := "S"
	if s.motion {
		st = "D"
	}
	return fmt.Appendf(nil, "S %s %10s %s\r\n", st, s.displayed().StringFixed(s.opts.Decimals), s.opts.Unit)
}

// --- Toledo 8217 (s.mu held) ---------------------------------------------------------

func (s *Scale) status8217() byte {
	d := s.displayed()
	st := byte(0x40)
	if s.motion {
		st |= 1 << 0
	}
	if s.over {
		st |= 1 << 1
	}
	if s.under || d.IsNegative() {
		st |= 1 << 2
	}
	if s.load.Sub(s.zero).IsZero() && !s.motion {
		st |= 1 << 4 // centre of zero: the gross weight is at zero
	}
	if !s.tare.IsZero() {
		st |= 1 << 5
	}
	return st
}

func (s *Scale) t8217(cmd string) []byte {
	stable := !s.motion && !s.over && !s.under
	switch cmd {
	case "W":
		if !stable || s.displayed().IsNegative() {
			return []byte{0x02, '?', s.status8217(), '\r'}
		}
		w := zeroPad(s.displayed().StringFixed(s.opts.Decimals), 6)
		if !s.tare.IsZero() {
			w += "N"
		}
		return []byte("\x02" + w + "\r")
	case "Z":
		// Zero is captured only when stable, in gross mode (DIVA §6.1.4.2).
		if stable && s.tare.IsZero() {
			s.zero = s.load
		}
	case "T":
		if stable && !s.displayed().IsZero() {
			s.tare = s.load.Sub(s.zero)
		}
	case "C":
		if stable {
			s.tare = decimal.Zero
		}
	}
	return []byte{0x02, '?', s.status8217(), '\r'}
}

func zeroPad(v string, width int) string {
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	for len(v) < width {
		v = "0" + v
	}
	if neg {
		v = "-" + v
	}
	return v
}

// --- NCI SCP-01 (s.mu held) ----------------------------------------------------------

func (s *Scale) nciStatus() string {
	b1, b2 := byte(0x30), byte(0x30)
	d := s.displayed()
	if s.motion {
		b1 |= 1 << 0
	}
	if d.IsZero() && !s.motion {
		b1 |= 1 << 1
	}
	if s.under || d.IsNegative() {
		b2 |= 1 << 0
	}
	if s.over {
		b2 |= 1 << 1
	}
	return string([]byte{b1, b2})
}

func (s *Scale) nci(cmd string) []byte {
	switch cmd {
	case "W":
		if s.over || s.under || s.displayed().IsNegative() {
			// Status only when the weight cannot be shown (DIVA §6.1.1).
			return []byte("\n" + s.nciStatus() + "\r\x03")
		}
		w := zeroPad(s.displayed().StringFixed(s.opts.Decimals), 7)
		return []byte("\n" + w + s.opts.Unit + "\r\n" + s.nciStatus() + "\r\x03")
	case "S":
		return []byte("\n" + s.nciStatus() + "\r\x03")
	case "Z":
		if !s.motion && !s.over && !s.under {
			s.zero = s.load
		}
		return []byte("\n" + s.nciStatus() + "\r\x03")
	}
	return []byte("\n?\r\x03")
}

// --- Toledo continuous ---------------------------------------------------------------

// ContinuousFrame builds the frame the simulator would send now (exported for tests that
// need the exact bytes).
func (s *Scale) ContinuousFrame() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.continuousFrame()
}

func (s *Scale) continuousFrame() []byte {
	d := s.displayed()
	swa := byte(0x20) | 1<<3 | byte(2+s.opts.Decimals)&0x07 // increment x1, decimal point code
	swb := byte(0x20)
	if !s.tare.IsZero() {
		swb |= 1 << 0
	}
	if d.IsNegative() || s.under {
		swb |= 1 << 1
	}
	if s.over || s.under {
		swb |= 1 << 2
	}
	if s.motion {
		swb |= 1 << 3
	}
	if s.opts.Unit == "kg" {
		swb |= 1 << 4
	}
	swc := byte(0x20)
	if s.opts.Unit == "g" {
		swc |= 1 << 0
	}
	digits := func(v decimal.Decimal) string {
		n := v.Abs().Shift(s.opts.Decimals).Round(0).IntPart() % 1000000
		return fmt.Sprintf("%06d", n)
	}
	f := []byte{0x02, swa, swb, swc}
	f = append(f, digits(d)...)
	f = append(f, digits(s.tare)...)
	f = append(f, '\r')
	if !s.opts.NoChecksum {
		var sum byte
		for _, c := range f {
			sum += c & 0x7f
		}
		f = append(f, (-sum)&0x7f)
	}
	return f
}

func (s *Scale) stream(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		s.mu.Lock()
		f := s.continuousFrame()
		noise := s.noise
		s.mu.Unlock()
		n++
		if noise && n%5 == 0 {
			f = append([]byte{0xff, '~', 0x00}, f...)
			if !s.opts.NoChecksum {
				f[3+6] ^= 0x01 // a flipped bit in a weight digit; the checksum no longer fits
			}
		}
		if err := s.write(f); err != nil {
			if errors.Is(err, ErrUnplugged) {
				return err
			}
			// Nobody reading and the pty buffer full: a real UART just drops bytes.
			continue
		}
	}
}
