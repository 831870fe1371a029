package scale

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/depotd/depotd/devices"
)

// SICSReply is one decoded MT-SICS response line (reference §1.1): an ID ("S", "Z", "T",
// "TA", "TAC", "I4", or an error "ES"/"ET"/"EL"/"EI"), a status ("S", "D", "I", "+", "-",
// "A", or "" for the error IDs) and the parameters. Reading is set for replies that carry
// a weight or a weight status (S, T and TA replies).
type SICSReply struct {
	ID      string
	Status  string
	Params  []string
	Reading *Reading
}

// IsError reports whether the reply is a general error (ES, ET, EL, EI).
func (r SICSReply) IsError() bool {
	switch r.ID {
	case "ES", "ET", "EL", "EI":
		return true
	}
	return false
}

// maxSICSLine bounds a response line; the longest level 0/1 reply (an I4 serial number
// or an I0 list entry) is far shorter. Longer input is line noise.
const maxSICSLine = 128

// DecodeSICS decodes one MT-SICS response line, with or without its CR LF. Fields are split
// on runs of spaces, not fixed columns (reference §1.1, "Parsing"), except that a quoted
// parameter (I4 A "1234567") is kept whole.
func DecodeSICS(line []byte) (SICSReply, error) {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	if len(line) == 0 || len(line) > maxSICSLine {
		return SICSReply{}, fmt.Errorf("mt-sics line of %d bytes: %w", len(line), ErrMalformed)
	}
	for _, c := range line {
		if c < 0x20 || c > 0x7e {
			return SICSReply{}, fmt.Errorf("mt-sics line %q: control byte: %w", line, ErrMalformed)
		}
	}
	fields, err := splitSICS(string(line))
	if err != nil {
		return SICSReply{}, err
	}
	r := SICSReply{ID: fields[0]}
	switch r.ID {
	case "ES", "ET", "EL", "EI":
		if len(fields) != 1 {
			return SICSReply{}, fmt.Errorf("mt-sics %q: %w", line, ErrMalformed)
		}
		return r, nil
	}
	if len(fields) < 2 {
		return SICSReply{}, fmt.Errorf("mt-sics %q: no status: %w", line, ErrMalformed)
	}
	r.Status, r.Params = fields[1], fields[2:]
	switch r.ID {
	case "S", "SI", "SIR":
		// Weight replies always carry the ID "S" (reference §1.1); accept the command
		// names too, as some firmwares echo them, the way ricado notes for ZI/TI.
		r.ID = "S"
		rd, err := sicsWeight(r.Status, r.Params, line, "SD+-")
		if err != nil {
			return SICSReply{}, err
		}
		r.Reading = rd
	case "T", "TA", "TI", "TAC":
		if r.ID == "TI" {
			r.ID = "T"
		}
		if r.ID == "TAC" {
			break
		}
		ok := "SD+-" // T S <tare> <unit>; T + / T - out of range
		if r.ID == "TA" {
			ok = "A"
		}
		if r.Status == "I" || r.Status == "L" {
			break
		}
		rd, err := sicsWeight(r.Status, r.Params, line, ok)
		if err != nil {
			return SICSReply{}, err
		}
		r.Reading = rd
	case "Z", "ZI":
		r.ID = "Z"
	}
	if !validSICSStatus(r.Status) {
		return SICSReply{}, fmt.Errorf("mt-sics %q: status %q: %w", line, r.Status, ErrMalformed)
	}
	return r, nil
}

func validSICSStatus(s string) bool {
	switch s {
	case "S", "D", "I", "+", "-", "A", "B", "L":
		return true
	}
	return false
}

// sicsWeight decodes "<status> <value> <unit>" for statuses that carry a weight, and the
// bare "+"/"-" (overload/underload) and "I" (not executable: no reading at all).
func sicsWeight(status string, params []string, line []byte, allowed string) (*Reading, error) {
	switch status {
	case "I":
		return nil, nil
	case "+":
		if len(params) != 0 || !strings.Contains(allowed, "+") {
			return nil, fmt.Errorf("mt-sics %q: %w", line, ErrMalformed)
		}
		return &Reading{Status: devices.WeightOverload}, nil
	case "-":
		if len(params) != 0 || !strings.Contains(allowed, "-") {
			return nil, fmt.Errorf("mt-sics %q: %w", line, ErrMalformed)
		}
		return &Reading{Status: devices.WeightUnderload}, nil
	}
	if len(status) != 1 || !strings.Contains(allowed, status) || len(params) != 2 {
		return nil, fmt.Errorf("mt-sics %q: %w", line, ErrMalformed)
	}
	v, err := parseNumber(params[0])
	if err != nil {
		return nil, fmt.Errorf("mt-sics %q: %w", line, err)
	}
	u, err := parseUnit(params[1])
	if err != nil {
		return nil, fmt.Errorf("mt-sics %q: %w", line, err)
	}
	rd := &Reading{Value: v, HasValue: true, Unit: u, Stable: status != "D", Status: devices.WeightOK}
	if status == "D" {
		rd.Status = devices.WeightMotion
	}
	return rd, nil
}

// splitSICS splits on runs of spaces, keeping a double-quoted parameter whole.
func splitSICS(s string) ([]string, error) {
	var out []string
	for i := 0; i < len(s); {
		if s[i] == ' ' {
			i++
			continue
		}
		if s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("mt-sics %q: unterminated quote: %w", s, ErrMalformed)
			}
			out = append(out, s[i:i+j+2])
			i += j + 2
			continue
		}
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			j = len(s) - i
		}
		out = append(out, s[i:i+j])
		i += j
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("mt-sics %q: empty: %w", s, ErrMalformed)
	}
	return out, nil
}

// splitLine finds one LF-terminated line in data (MT-SICS ends every response in CR LF).
// It returns how many bytes to consume and the line without its terminator; a line longer
// than max is consumed and returned as nil so the caller can count it as noise.
func splitLine(data []byte, max int) (advance int, line []byte, tooLong bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		if len(data) > max {
			return len(data), nil, true
		}
		return 0, nil, false
	}
	if i > max {
		return i + 1, nil, true
	}
	return i + 1, bytes.TrimSuffix(data[:i], []byte("\r")), false
}
