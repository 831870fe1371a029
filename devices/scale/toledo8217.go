package scale

import (
	"bytes"
	"fmt"

	"github.com/depotd/depotd/devices"
)

// Toledo 8217 status byte bits (reference §1.3, Mettler Toledo DIVA service manual §6.1.4.3).
const (
	T8217Motion      = 1 << 0
	T8217OverCap     = 1 << 1
	T8217UnderZero   = 1 << 2
	T8217OutsideZero = 1 << 3 // outside zero-capture range
	T8217CentreZero  = 1 << 4
	T8217Net         = 1 << 5
	t8217Always      = 1 << 6 // always 1: "all OK" is '@' (0x40)
)

// T8217Reply is one decoded Toledo 8217/8213 reply (STX ... CR). Either a weight
// (Reading.HasValue) or a status byte (IsStatus, after "?").
type T8217Reply struct {
	IsStatus bool
	Status   byte // the status byte with the parity bit cleared, when IsStatus
	Reading  Reading
}

const max8217Frame = 16 // STX + "?s" or up to 8 weight characters + N + CR, with slack

// Decode8217 decodes one reply frame: STX, then either the weight (digits with at most
// one point, leading spaces allowed, "N" appended for a net weight) or "?" and a status
// byte, then CR (reference §1.3; DIVA service manual §6.1.4.2). The wire carries no unit,
// so the caller passes the configured one. Bit 7 of every byte is cleared first: under
// 7E1 it is the parity bit, which a port set to 8N1 by mistake would pass through.
func Decode8217(frame []byte, unit string) (T8217Reply, error) {
	if len(frame) < 3 || len(frame) > max8217Frame {
		return T8217Reply{}, fmt.Errorf("toledo-8217 frame % x: length: %w", frame, ErrMalformed)
	}
	f := make([]byte, len(frame))
	for i, c := range frame {
		f[i] = c & 0x7f
	}
	if f[0] != 0x02 || f[len(f)-1] != '\r' {
		return T8217Reply{}, fmt.Errorf("toledo-8217 frame % x: not STX…CR: %w", frame, ErrMalformed)
	}
	body := f[1 : len(f)-1]
	if body[0] == '?' {
		if len(body) != 2 {
			return T8217Reply{}, fmt.Errorf("toledo-8217 status % x: %w", frame, ErrMalformed)
		}
		s := body[1]
		if s&t8217Always == 0 {
			return T8217Reply{}, fmt.Errorf("toledo-8217 status byte %#02x without bit 6: %w", s, ErrMalformed)
		}
		r := T8217Reply{IsStatus: true, Status: s}
		r.Reading = statusReading8217(s)
		return r, nil
	}
	body = bytes.TrimLeft(body, " ")
	net := false
	if n := len(body); n > 0 && body[n-1] == 'N' {
		net, body = true, body[:n-1]
	}
	if len(body) == 0 || body[0] == '-' || body[0] == '+' {
		// The 8217 never signs a weight: a negative weight is reported as a status.
		return T8217Reply{}, fmt.Errorf("toledo-8217 weight % x: %w", frame, ErrMalformed)
	}
	v, err := parseNumber(string(body))
	if err != nil {
		return T8217Reply{}, fmt.Errorf("toledo-8217 frame % x: %w", frame, err)
	}
	if _, err := parseUnit(unit); err != nil {
		return T8217Reply{}, fmt.Errorf("toledo-8217 configured unit: %w", err)
	}
	// The scale sends a weight only when it is stable, in range and not negative; every
	// other state comes as a status byte (DIVA §6.1.4.2, "W").
	return T8217Reply{Reading: Reading{Value: v, HasValue: true, Unit: unit, Stable: true, Net: net, Status: devices.WeightOK}}, nil
}

// statusReading8217 maps a status byte to a reading without a value. Over capacity wins
// over under zero, which wins over motion: the worst condition is the one reported.
func statusReading8217(s byte) Reading {
	r := Reading{Net: s&T8217Net != 0, Stable: s&T8217Motion == 0, Status: devices.WeightOK}
	switch {
	case s&T8217OverCap != 0:
		r.Status, r.Stable = devices.WeightOverload, false
	case s&T8217UnderZero != 0:
		r.Status, r.Stable = devices.WeightUnderload, false
	case s&T8217Motion != 0:
		r.Status = devices.WeightMotion
	}
	return r
}

// split8217 finds one STX…CR frame in data. Bytes before an STX are noise; a frame longer
// than max8217Frame is dropped.
func split8217(data []byte) (advance int, frame []byte, noise int) {
	return splitSTXCR(data, max8217Frame)
}

func splitSTXCR(data []byte, max int) (advance int, frame []byte, noise int) {
	start := -1
	for i, c := range data {
		if c&0x7f == 0x02 {
			start = i
			break
		}
	}
	if start < 0 {
		return len(data), nil, len(data)
	}
	for i := start + 1; i < len(data); i++ {
		if i-start+1 > max {
			return i, nil, i // too long for a frame: noise up to here
		}
		switch data[i] & 0x7f {
		case '\r':
			return i + 1, data[start : i+1], start
		case 0x02:
			// A new STX before CR: the earlier frame was cut short.
			return i, nil, i
		}
	}
	return start, nil, start
}
