package scale

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/depotd/depotd/devices"
)

// --- MT-SICS -------------------------------------------------------------------------

// sicsProto polls with SI (send weight immediately: "S S" stable or "S D" dynamic), so
// motion is reported as it happens; S would block until stable. At connect it sends @
// (reset: cancels a running SIR and answers with the serial number, proving the device
// speaks MT-SICS) and TA (tare query) so readings can carry Net.
type sicsProto struct {
	tared bool
	unit  string
}

func (p *sicsProto) split(data []byte) (int, []byte, int) {
	adv, line, tooLong := splitLine(data, maxSICSLine)
	if tooLong {
		return adv, nil, adv
	}
	return adv, line, 0
}

func (p *sicsProto) pollCmd() []byte { return []byte("SI\r\n") }

func (p *sicsProto) fallbackUnit() string {
	if p.unit == "" {
		return DefaultUnit
	}
	return p.unit
}

func (p *sicsProto) hello(ctx context.Context, x *exchanger) error {
	// Repeat @ until the scale answers or timeout passes: one reply lost to noise must
	// not fail the connection.
	until := time.Now().Add(x.timeout)
	for {
		err := x.exchangeWithin(ctx, x.replyWait(), []byte("@\r\n"), func(frame []byte) (bool, error) {
			r, err := DecodeSICS(frame)
			if err != nil || r.ID != "I4" {
				return false, nil // a stale S line from a running SIR, or noise
			}
			return true, nil
		})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrTimeout) || !time.Now().Before(until) {
			return fmt.Errorf("mt-sics reset (@): %w", err)
		}
	}
	p.queryTare(ctx, x)
	return nil
}

// queryTare updates p.tared from TA. Level-0-only devices answer ES: Net stays unknown
// (false), which is not an error.
func (p *sicsProto) queryTare(ctx context.Context, x *exchanger) {
	_ = x.exchangeWithin(ctx, x.replyWait(), []byte("TA\r\n"), func(frame []byte) (bool, error) {
		r, err := DecodeSICS(frame)
		switch {
		case err != nil:
			return false, nil
		case r.IsError():
			return true, nil
		case r.ID != "TA":
			return false, nil
		}
		if r.Reading != nil && r.Reading.HasValue {
			p.tared = !r.Reading.Value.IsZero()
		}
		return true, nil
	})
}

func (p *sicsProto) afterCommand(ctx context.Context, x *exchanger) { p.queryTare(ctx, x) }

func (p *sicsProto) reading(frame []byte) (Reading, bool, error) {
	r, err := DecodeSICS(frame)
	if err != nil {
		return Reading{}, false, err
	}
	switch {
	case r.ID == "ES":
		return Reading{}, false, fmt.Errorf("mt-sics: SI answered ES (syntax error: the device does not speak MT-SICS level 0): %w", ErrRefused)
	case r.IsError():
		// ET (transmission error: noise on the line) or EL/EI: try again next poll.
		return Reading{}, false, nil
	case r.ID != "S":
		return Reading{}, false, fmt.Errorf("mt-sics: %q in answer to SI: %w", frame, ErrMalformed)
	case r.Reading == nil:
		return Reading{}, false, nil // S I: busy, nothing to report
	}
	rd := *r.Reading
	rd.Net = p.tared
	if rd.Unit != "" {
		p.unit = rd.Unit
	}
	return rd, true, nil
}

func (p *sicsProto) command(op string) ([]byte, acceptFunc, error) {
	var cmd, id string
	switch op {
	case "zero":
		cmd, id = "Z", "Z"
	case "tare":
		cmd, id = "T", "T"
	case "clear-tare":
		cmd, id = "TAC", "TAC"
	default:
		return nil, nil, unsupported(MTSICS, op)
	}
	return []byte(cmd + "\r\n"), func(frame []byte) (bool, error) {
		r, err := DecodeSICS(frame)
		if err != nil {
			return false, nil
		}
		if r.IsError() {
			return true, fmt.Errorf("mt-sics %s answered %s: %w", cmd, r.ID, ErrRefused)
		}
		if r.ID != id {
			return false, nil // a late SI reply
		}
		switch r.Status {
		case "A", "S", "D":
			return true, nil
		case "I":
			return true, fmt.Errorf("mt-sics %s: not executable now (scale busy or not stable): %w", cmd, ErrRefused)
		case "+":
			return true, fmt.Errorf("mt-sics %s: upper limit exceeded: %w", cmd, ErrRefused)
		case "-":
			return true, fmt.Errorf("mt-sics %s: lower limit exceeded: %w", cmd, ErrRefused)
		case "L":
			return true, fmt.Errorf("mt-sics %s: logical error: %w", cmd, ErrRefused)
		}
		return true, fmt.Errorf("mt-sics %s answered %q: %w", cmd, frame, ErrRefused)
	}, nil
}

// --- Toledo 8217 ---------------------------------------------------------------------

type t8217Proto struct{ unit string }

func (p *t8217Proto) split(data []byte) (int, []byte, int) { return split8217(data) }
func (p *t8217Proto) pollCmd() []byte                      { return []byte("W") }
func (p *t8217Proto) fallbackUnit() string                 { return p.unit }
func (p *t8217Proto) hello(context.Context, *exchanger) error {
	return nil
}

func (p *t8217Proto) reading(frame []byte) (Reading, bool, error) {
	r, err := Decode8217(frame, p.unit)
	if err != nil {
		return Reading{}, false, err
	}
	if r.IsStatus && r.Reading.Status == devices.WeightOK {
		// An all-clear status instead of a weight carries nothing to deliver.
		return Reading{}, false, nil
	}
	return r.Reading, true, nil
}

// command: Z, T and C each answer with the status byte (DIVA §6.1.4.2). The status says
// whether the scale did it: centre of zero after Z, net after T, gross after C.
func (p *t8217Proto) command(op string) ([]byte, acceptFunc, error) {
	var cmd byte
	var ok func(s byte) error
	switch op {
	case "zero":
		cmd = 'Z'
		ok = func(s byte) error {
			switch {
			case s&T8217Motion != 0:
				return errors.New("in motion")
			case s&T8217Net != 0:
				return errors.New("a tare is set (zero only in gross mode)")
			case s&T8217CentreZero != 0:
				return nil
			default:
				return errors.New("outside zero-capture range")
			}
		}
	case "tare":
		cmd = 'T'
		ok = func(s byte) error {
			if s&T8217Net != 0 {
				return nil
			}
			return errors.New("tare not taken (needs a stable, non-zero weight, tare enabled)")
		}
	case "clear-tare":
		cmd = 'C'
		ok = func(s byte) error {
			if s&T8217Net == 0 {
				return nil
			}
			return errors.New("tare not cleared (weight not stable)")
		}
	default:
		return nil, nil, unsupported(Toledo8217, op)
	}
	return []byte{cmd}, func(frame []byte) (bool, error) {
		r, err := Decode8217(frame, p.unit)
		if err != nil || !r.IsStatus {
			return false, nil // noise, or a late weight reply
		}
		if err := ok(r.Status); err != nil {
			return true, fmt.Errorf("toledo-8217 %c: status %#02x: %v: %w", cmd, r.Status, err, ErrRefused)
		}
		return true, nil
	}, nil
}

// --- NCI SCP-01 ----------------------------------------------------------------------

type nciProto struct{ unit string }

func (p *nciProto) split(data []byte) (int, []byte, int) { return splitNCI(data) }
func (p *nciProto) pollCmd() []byte                      { return []byte("W\r") }
func (p *nciProto) hello(context.Context, *exchanger) error {
	return nil
}

func (p *nciProto) fallbackUnit() string {
	if p.unit == "" {
		return DefaultUnit
	}
	return p.unit
}

func (p *nciProto) reading(frame []byte) (Reading, bool, error) {
	r, err := DecodeNCI(frame)
	if err != nil {
		return Reading{}, false, err
	}
	if r.Unknown {
		return Reading{}, false, fmt.Errorf("nci: W answered \"?\" (command not recognised: not an SCP-01 scale?): %w", ErrRefused)
	}
	if !r.HasValue && r.Reading.Status == devices.WeightOK {
		return Reading{}, false, nil
	}
	if r.Reading.Unit != "" {
		p.unit = r.Reading.Unit
	}
	return r.Reading, true, nil
}

// command: SCP-01 has Z (zero, answers the status) but no tare (8408-14788-01 lists W, S,
// Z, H, U, M). If the scale cannot zero it ignores Z and answers a status without the
// at-zero flag (DIVA service manual §6.1.1 note 4).
func (p *nciProto) command(op string) ([]byte, acceptFunc, error) {
	if op != "zero" {
		return nil, nil, unsupported(NCISCP01, op)
	}
	return []byte("Z\r"), func(frame []byte) (bool, error) {
		r, err := DecodeNCI(frame)
		if err != nil || r.HasValue {
			return false, nil
		}
		if r.Unknown {
			return true, fmt.Errorf("nci Z: command not recognised: %w", ErrRefused)
		}
		if r.Status[0]&NCIAtZero == 0 {
			return true, fmt.Errorf("nci Z: status %q: not at zero (in motion or outside zero range): %w", r.Status, ErrRefused)
		}
		return true, nil
	}, nil
}

// --- Toledo continuous ---------------------------------------------------------------

type contProto struct {
	checksum string // configured: auto, on or off
	splitter ContinuousSplitter
	unit     string
}

func (p *contProto) split(data []byte) (int, []byte, int) { return p.splitter.Split(data) }
func (p *contProto) pollCmd() []byte                      { return nil }

// hello starts every connection from the configured mode: what auto learnt on the last
// connection may not hold for what is plugged in now.
func (p *contProto) hello(context.Context, *exchanger) error {
	p.splitter.Reset(p.checksum)
	return nil
}

func (p *contProto) fallbackUnit() string {
	if p.unit == "" {
		return DefaultUnit
	}
	return p.unit
}

func (p *contProto) reading(frame []byte) (Reading, bool, error) {
	switch p.splitter.Mode() {
	case ChecksumAuto:
		// Still learning whether checksums are on: the frame proves the indicator is
		// there, but nothing is read from it.
		return Reading{}, false, nil
	case ChecksumOn:
		if len(frame) != ContinuousFrameLen+1 {
			return Reading{}, false, fmt.Errorf("toledo continuous % x: no checksum character (checksum: on): %w", frame, ErrChecksum)
		}
	}
	r, err := DecodeContinuous(frame)
	if err != nil {
		return Reading{}, false, err
	}
	p.unit = r.Unit
	return r.Reading, true, nil
}

func (p *contProto) command(op string) ([]byte, acceptFunc, error) {
	return nil, nil, unsupported(ToledoContinuous, op)
}
