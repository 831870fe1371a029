package serialscan

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Suffix says what ends a frame on the wire.
type Suffix string

const (
	// SuffixAuto ends a frame at CR, LF or CR LF; empty lines are ignored. The default,
	// because it accepts every factory setting of common scanners.
	SuffixAuto Suffix = "auto"
	SuffixCR   Suffix = "cr"
	SuffixLF   Suffix = "lf"
	SuffixCRLF Suffix = "crlf"
	SuffixETX  Suffix = "etx"
	// SuffixNone has no terminator: the I/O shell calls Flush after an inter-character
	// timeout of silence.
	SuffixNone Suffix = "none"
)

// DefaultMaxLength bounds a frame's data when the config sets no max_length. A GS1
// DataMatrix holds at most 2,335 alphanumeric characters; 4,096 leaves room for any
// symbology while keeping a noisy line from growing a buffer without bound.
const DefaultMaxLength = 4096

// Sentinel errors a refused Frame's Err wraps.
var (
	// ErrTooLong: the frame's data is longer than the configured maximum.
	ErrTooLong = errors.New("frame too long")
	// ErrControlByte: the frame contains a control byte other than GS (0x1D).
	ErrControlByte = errors.New("control byte in frame")
	// ErrMissingPrefix: a prefix is configured and the frame does not start with it.
	ErrMissingPrefix = errors.New("frame lacks the configured prefix")
	// ErrIncomplete: bytes arrived but no suffix followed before the line went quiet
	// (the I/O shell refuses them rather than prefixing them to the next scan).
	ErrIncomplete = errors.New("frame without suffix")
)

const (
	cr  = 0x0D
	lf  = 0x0A
	etx = 0x03
	gs  = 0x1D
)

// Framing is how a scanner is configured to frame its scans.
type Framing struct {
	Suffix    Suffix
	Prefix    []byte
	MaxLength int // of Data; 0 means DefaultMaxLength
}

// Frame is one framed scan: accepted when Err is nil, refused otherwise.
type Frame struct {
	// Raw is the frame as it arrived, prefix and AIM identifier included, suffix
	// removed. A frame refused as too long keeps only its first bytes (see Framer).
	Raw []byte
	// Data is Raw without prefix and AIM identifier; GS stays as the FNC1 separator.
	Data []byte
	// AIM is the symbology identifier ("]C1"), or "" when the scanner sends none.
	AIM string
	// Err says why the frame was refused; it wraps one of the sentinel errors and
	// includes the raw bytes in hex.
	Err error
}

// Framer cuts a byte stream into frames. It holds at most MaxLength plus a few bytes,
// whatever it is fed: an overlong frame is truncated as evidence and refused when its
// terminator arrives. A Framer is not safe for concurrent use.
type Framer struct {
	f        Framing
	limit    int // bytes kept per frame
	buf      []byte
	overflow int  // bytes dropped from the current frame
	pendCR   bool // crlf mode: a CR waiting for its LF
}

// NewFramer returns a Framer for f. An unknown suffix is treated as auto; Config.Check
// reports it before it gets here.
func NewFramer(f Framing) *Framer {
	if f.MaxLength <= 0 {
		f.MaxLength = DefaultMaxLength
	}
	// Prefix, AIM identifier and the longest data we accept.
	limit := len(f.Prefix) + 3 + f.MaxLength
	return &Framer{f: f, limit: limit}
}

// Push feeds bytes as they came off the wire and returns the frames they completed.
func (fr *Framer) Push(b []byte) []Frame {
	var out []Frame
	for _, c := range b {
		if fr.pendCR {
			fr.pendCR = false
			if c == lf {
				out = fr.end(out)
				continue
			}
			fr.add(cr)
		}
		switch {
		case fr.f.Suffix == SuffixCR && c == cr,
			fr.f.Suffix == SuffixLF && c == lf,
			fr.f.Suffix == SuffixETX && c == etx,
			fr.isAuto() && (c == cr || c == lf):
			out = fr.end(out)
		case fr.f.Suffix == SuffixCRLF && c == cr:
			fr.pendCR = true
		default:
			fr.add(c)
		}
	}
	return out
}

// Flush ends the frame in progress, if any: the inter-character timeout of SuffixNone,
// or the end of a stream. A CR still waiting for its LF (crlf mode) is kept in the frame.
func (fr *Framer) Flush() []Frame {
	if fr.pendCR {
		fr.pendCR = false
		fr.add(cr)
	}
	return fr.end(nil)
}

// Pending reports whether a frame is in progress.
func (fr *Framer) Pending() bool { return len(fr.buf) > 0 || fr.overflow > 0 || fr.pendCR }

func (fr *Framer) isAuto() bool {
	switch fr.f.Suffix {
	case SuffixCR, SuffixLF, SuffixCRLF, SuffixETX, SuffixNone:
		return false
	}
	return true
}

func (fr *Framer) add(c byte) {
	if len(fr.buf) >= fr.limit {
		fr.overflow++
		return
	}
	fr.buf = append(fr.buf, c)
}

func (fr *Framer) end(out []Frame) []Frame {
	if len(fr.buf) == 0 && fr.overflow == 0 {
		return out // empty line: the LF of CR LF in auto mode, or a stray terminator
	}
	raw := fr.buf
	overflow := fr.overflow
	fr.buf, fr.overflow = nil, 0
	var f Frame
	if overflow > 0 {
		f = Frame{Raw: raw, Err: fmt.Errorf("%w: more than %d bytes (%d dropped); first bytes %s",
			ErrTooLong, fr.f.MaxLength, overflow, hex.EncodeToString(raw))}
	} else {
		f = CheckFrame(raw, fr.f)
	}
	return append(out, f)
}

// CheckFrame splits one complete frame (suffix already removed) into prefix, AIM identifier
// and data, and refuses it when the prefix is missing, the data is too long or contains
// a control byte other than GS. Raw in the result is raw itself (not copied).
// The evdev decoder uses it too, so both scanner families apply one rule.
func CheckFrame(raw []byte, f Framing) Frame {
	max := f.MaxLength
	if max <= 0 {
		max = DefaultMaxLength
	}
	fr := Frame{Raw: raw}
	rest := raw
	if len(f.Prefix) > 0 {
		if !bytes.HasPrefix(rest, f.Prefix) {
			fr.Err = fmt.Errorf("%w %s; raw %s", ErrMissingPrefix, hex.EncodeToString(f.Prefix), hex.EncodeToString(raw))
			return fr
		}
		rest = rest[len(f.Prefix):]
	}
	if IsAIM(rest) {
		fr.AIM, rest = string(rest[:3]), rest[3:]
	}
	if len(rest) > max {
		fr.Err = fmt.Errorf("%w: %d bytes, max %d; raw %s", ErrTooLong, len(rest), max, hex.EncodeToString(raw))
		return fr
	}
	for i, c := range rest {
		if (c < 0x20 && c != gs) || c == 0x7F {
			fr.Err = fmt.Errorf("%w 0x%02x at data offset %d; raw %s", ErrControlByte, c, i, hex.EncodeToString(raw))
			fr.AIM = ""
			return fr
		}
	}
	fr.Data = rest
	return fr
}

// IsAIM reports whether b starts with an AIM symbology identifier (ISO/IEC 15424):
// ']', a symbology code character and a modifier character, e.g. "]C1", "]E0", "]d2",
// "]Q3", "]e0". Code and modifier are letters or digits; anything else after ']' is data.
func IsAIM(b []byte) bool {
	return len(b) >= 3 && b[0] == ']' && isLetter(b[1]) && (isLetter(b[2]) || isDigit(b[2]))
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// ParseSuffix accepts the config spellings; "" is auto.
func ParseSuffix(s string) (Suffix, error) {
	switch v := Suffix(strings.ToLower(s)); v {
	case "":
		return SuffixAuto, nil
	case SuffixAuto, SuffixCR, SuffixLF, SuffixCRLF, SuffixETX, SuffixNone:
		return v, nil
	}
	return "", fmt.Errorf("unknown suffix %q (auto, cr, lf, crlf, etx, none)", s)
}

// Unescape turns a config string with Go escapes ("\x02", "\r", "\a") into bytes, so
// prefixes and beep codes can name control bytes in YAML.
func Unescape(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var out []byte
	for rest := s; len(rest) > 0; {
		if rest[0] == '"' {
			// UnquoteChar refuses a bare quote; in YAML it is just a character.
			out, rest = append(out, '"'), rest[1:]
			continue
		}
		r, multibyte, tail, err := strconv.UnquoteChar(rest, '"')
		if err != nil {
			return nil, fmt.Errorf("bad escape in %q: %w", s, err)
		}
		if multibyte {
			out = utf8.AppendRune(out, r)
		} else {
			out = append(out, byte(r)) // \xNN and \NNN are bytes, not code points
		}
		rest = tail
	}
	return out, nil
}
