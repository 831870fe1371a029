package scale

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
)

// NCI SCP-01 status bits (reference §1.4: Weigh-Tronix 8408-14788-01 as quoted by
// RichardChambers/anduino_uno scalesimulator; Avery Weigh-Tronix 7821 manual p.25).
const (
	// Status byte 1.
	NCIMotion = 1 << 0
	NCIAtZero = 1 << 1
	NCIRAMErr = 1 << 2
	NCIROMErr = 1 << 3 // EEPROM error in byte 1
	// Status byte 2.
	NCIUnderCap = 1 << 0
	NCIOverCap  = 1 << 1
	NCIROMErr2  = 1 << 2
	NCIBadCal   = 1 << 3
	// Status byte 3 (optional).
	NCINet         = 1 << 2
	NCIInitZeroErr = 1 << 3
)

// NCIReply is one decoded SCP-01 reply. Unknown is set for "<LF>?<CR><ETX>" (command not
// recognised). Otherwise Status holds the status bytes (bit 7 cleared) and Reading is the
// weight (HasValue) or, for a status-only reply, what the status says.
type NCIReply struct {
	Unknown  bool
	Status   []byte
	Reading  Reading
	HasValue bool
}

const maxNCIFrame = 48

// DecodeNCI decodes one SCP-01 reply frame, from LF to ETX:
//
//	<LF>xxxx.xxuu<CR><LF>hh…<CR><ETX>   weight, unit, status (W)
//	<LF>hh…<CR><ETX>                     status only (S, Z; W when the weight cannot be shown)
//	<LF>?<CR><ETX>                       unrecognised command
//
// Status bytes are 2 or 3 ASCII characters with bits 4 and 5 set (so "00" is a clean
// status). An "S" before them (SCP-02/Ohaus variant) is accepted. Bit 7 (parity under 7E1)
// is cleared first.
func DecodeNCI(frame []byte) (NCIReply, error) {
	if len(frame) < 4 || len(frame) > maxNCIFrame {
		return NCIReply{}, fmt.Errorf("nci frame of %d bytes: %w", len(frame), ErrMalformed)
	}
	f := make([]byte, len(frame))
	for i, c := range frame {
		f[i] = c & 0x7f
	}
	if f[0] != '\n' || f[len(f)-1] != 0x03 || f[len(f)-2] != '\r' {
		return NCIReply{}, fmt.Errorf("nci frame %q: not LF…CR ETX: %w", frame, ErrMalformed)
	}
	body := f[1 : len(f)-2]
	if string(body) == "?" {
		return NCIReply{Unknown: true}, nil
	}
	parts := bytes.Split(body, []byte("\r\n"))
	var weight, status []byte
	switch len(parts) {
	case 1:
		status = parts[0]
	case 2:
		weight, status = parts[0], parts[1]
	default:
		return NCIReply{}, fmt.Errorf("nci frame %q: %w", frame, ErrMalformed)
	}
	st, err := decodeNCIStatus(status)
	if err != nil {
		return NCIReply{}, fmt.Errorf("nci frame %q: %w", frame, err)
	}
	r := NCIReply{Status: st, Reading: nciStatusReading(st)}
	if weight == nil {
		return r, nil
	}
	v, u, err := nciWeight(weight)
	if err != nil {
		if r.Reading.Status == devices.WeightOverload || r.Reading.Status == devices.WeightUnderload {
			// Out-of-range characters stand in for the weight; the status says why.
			return r, nil
		}
		return NCIReply{}, fmt.Errorf("nci frame %q: %w", frame, err)
	}
	r.Reading.Value, r.Reading.Unit, r.Reading.HasValue = v, u, true
	r.HasValue = true
	return r, nil
}

func decodeNCIStatus(s []byte) ([]byte, error) {
	if len(s) > 0 && s[0] == 'S' {
		s = s[1:]
	}
	if len(s) < 2 || len(s) > 3 {
		return nil, fmt.Errorf("status %q: %d bytes: %w", s, len(s), ErrMalformed)
	}
	for i, c := range s {
		// Bits 4 and 5 are always 1 in every status byte; bit 6 is 0 in byte 1 (in byte 2
		// it flags a following byte, so it is not checked there).
		if c&0x30 != 0x30 || (i == 0 && c&0x40 != 0) {
			return nil, fmt.Errorf("status byte %d %#02x: %w", i+1, c, ErrMalformed)
		}
	}
	return append([]byte(nil), s...), nil
}

func nciStatusReading(st []byte) Reading {
	b1, b2 := st[0], st[1]
	r := Reading{Stable: b1&NCIMotion == 0, Status: devices.WeightOK}
	if len(st) > 2 {
		r.Net = st[2]&NCINet != 0
	}
	switch {
	case b1&(NCIRAMErr|NCIROMErr) != 0 || b2&(NCIROMErr2|NCIBadCal) != 0 || (len(st) > 2 && st[2]&NCIInitZeroErr != 0):
		r.Status, r.Stable = devices.WeightError, false
	case b2&NCIOverCap != 0:
		r.Status, r.Stable = devices.WeightOverload, false
	case b2&NCIUnderCap != 0:
		r.Status, r.Stable = devices.WeightUnderload, false
	case b1&NCIMotion != 0:
		r.Status = devices.WeightMotion
	}
	return r
}

// nciWeight splits "xxxx.xxuu" (spaces allowed around both, as in the grams format
// "<LF> XXXXg <CR>" of the Brecknell 3700LP manual p.11) into value and unit.
func nciWeight(w []byte) (v decimal.Decimal, u string, err error) {
	s := strings.TrimSpace(string(w))
	i := len(s)
	for i > 0 && isLetter(s[i-1]) {
		i--
	}
	if i == len(s) {
		return v, "", fmt.Errorf("weight %q: no unit: %w", w, ErrMalformed)
	}
	u, err = parseUnit(s[i:])
	if err != nil {
		return v, "", err
	}
	v, err = parseNumber(strings.TrimSpace(s[:i]))
	return v, u, err
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// splitNCI finds one LF…ETX frame. Anything before the LF is noise. Inside a frame a
// CR is always followed by LF or ETX, and an LF only ever follows a CR (7821 manual p.25:
// <LF>weight<CR><LF>status<CR><ETX>); a frame that breaks this lost bytes to noise, so it
// is dropped there and the search restarts, rather than running into the next frame.
func splitNCI(data []byte) (advance int, frame []byte, noise int) {
	start := -1
	for i, c := range data {
		if c&0x7f == '\n' {
			start = i
			break
		}
	}
	if start < 0 {
		return len(data), nil, len(data)
	}
	prev := byte('\n')
	for i := start + 1; i < len(data); i++ {
		if i-start+1 > maxNCIFrame {
			return i, nil, i // too long for a frame: noise up to here
		}
		c := data[i] & 0x7f
		switch {
		case c == 0x03:
			return i + 1, data[start : i+1], start
		case prev == '\r' && c != '\n':
			return i, nil, i
		case c == '\n' && prev != '\r':
			return i, nil, i // a new frame starts here
		}
		prev = c
	}
	return start, nil, start
}
