package evdev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/depotd/depotd/devices/serialscan"
)

// Event types and values (include/uapi/linux/input-event-codes.h).
const (
	EvSyn = 0
	EvKey = 1
	EvMsc = 4

	KeyRelease = 0
	KeyPress   = 1
	KeyRepeat  = 2
)

// EventSize is the size of struct input_event on this machine: two C longs of time
// (a timeval, or __sec/__usec with a 64-bit time_t on 32-bit), u16 type, u16 code, s32
// value. 24 bytes on 64-bit, 16 on 32-bit ARM.
const EventSize = int(2*unsafe.Sizeof(uintptr(0))) + 8

// Event is one decoded struct input_event.
type Event struct {
	Sec, Usec int64
	Type      uint16
	Code      uint16
	Value     int32
}

// ParseEvent decodes one input_event of size 24 (64-bit) or 16 (32-bit) bytes in the
// machine's byte order (every platform depotd targets is little-endian; NativeEndian
// keeps it right elsewhere). b must hold at least size bytes.
func ParseEvent(b []byte, size int) Event {
	o := binary.NativeEndian
	var e Event
	switch size {
	case 16:
		e.Sec, e.Usec = int64(int32(o.Uint32(b[0:]))), int64(int32(o.Uint32(b[4:])))
	default:
		e.Sec, e.Usec = int64(o.Uint64(b[0:])), int64(o.Uint64(b[8:]))
	}
	t := size - 8
	e.Type, e.Code, e.Value = o.Uint16(b[t:]), o.Uint16(b[t+2:]), int32(o.Uint32(b[t+4:]))
	return e
}

// AppendEvent encodes e as a size-byte input_event; the inverse of ParseEvent, used to
// write recordings.
func AppendEvent(b []byte, e Event, size int) []byte {
	o := binary.NativeEndian
	if size == 16 {
		b = o.AppendUint32(b, uint32(e.Sec))
		b = o.AppendUint32(b, uint32(e.Usec))
	} else {
		b = o.AppendUint64(b, uint64(e.Sec))
		b = o.AppendUint64(b, uint64(e.Usec))
	}
	b = o.AppendUint16(b, e.Type)
	b = o.AppendUint16(b, e.Code)
	return o.AppendUint32(b, uint32(e.Value))
}

// ErrUnmappedKey: a key with no character in the layout (F-keys, Tab, Backspace, or a
// scanner typing in another layout) was pressed during a scan.
var ErrUnmappedKey = errors.New("key not in layout")

// Options configure a Decoder beyond the layout.
type Options struct {
	// GSSubstitute, when not 0, is decoded as GS (0x1D): for scanners programmed to send
	// a printable stand-in for FNC1 because they cannot send Ctrl+].
	GSSubstitute rune
	// Framing applies the serial scanners' rules to each decoded line: prefix, AIM
	// identifier, max length, control bytes. Suffix is not used (Enter ends a line).
	Framing serialscan.Framing
}

// Decoder turns key events into scans. It tracks Shift, AltGr, Ctrl and Alt itself (the
// device is grabbed, so no console keymap runs), ignores autorepeat, and ends a line at
// Enter or keypad Enter. GS arrives as Ctrl+] (the key right of P, code 27, by position
// in every layout), as Alt+029 on the keypad, or as the substitute.
// A Decoder holds at most Framing.MaxLength plus a few bytes; it is not safe for
// concurrent use.
type Decoder struct {
	layout *Layout
	opts   Options
	limit  int

	shiftL, shiftR, ctrlL, ctrlR, alt, altGr bool
	altCode                                  int // Alt+keypad digits so far, -1 if none
	pendingDead                              rune

	buf      []byte
	overflow int
	unmapped error // first unmapped key in the current line
}

// NewDecoder returns a decoder for layout.
func NewDecoder(layout *Layout, opts Options) *Decoder {
	max := opts.Framing.MaxLength
	if max <= 0 {
		max = serialscan.DefaultMaxLength
	}
	return &Decoder{layout: layout, opts: opts, limit: len(opts.Framing.Prefix) + 3 + max, altCode: -1}
}

// Event feeds one event; it returns a frame (ok true) when the event ended a line.
func (d *Decoder) Event(e Event) (serialscan.Frame, bool) {
	if e.Type != EvKey || e.Value == KeyRepeat {
		return serialscan.Frame{}, false
	}
	down := e.Value == KeyPress
	switch e.Code {
	case keyLeftShift:
		d.shiftL = down
		return serialscan.Frame{}, false
	case keyRightShift:
		d.shiftR = down
		return serialscan.Frame{}, false
	case keyLeftCtrl:
		d.ctrlL = down
		return serialscan.Frame{}, false
	case keyRightCtrl:
		d.ctrlR = down
		return serialscan.Frame{}, false
	case keyRightAlt:
		d.altGr = down
		return serialscan.Frame{}, false
	case keyLeftAlt:
		d.alt = down
		if !down && d.altCode >= 0 {
			d.emitByte(byte(d.altCode))
			d.altCode = -1
		}
		return serialscan.Frame{}, false
	}
	if !down {
		return serialscan.Frame{}, false
	}
	if e.Code == keyEnter || e.Code == keyKPEnter {
		return d.endLine()
	}
	d.press(e.Code)
	return serialscan.Frame{}, false
}

func (d *Decoder) press(code uint16) {
	if d.alt && !d.altGr {
		if r, ok := keypad[code]; ok && r >= '0' && r <= '9' {
			// Windows-style Alt+code: decimal, applied on Alt release; three digits
			// at most, so the value stays a byte.
			if d.altCode < 0 {
				d.altCode = 0
			}
			d.altCode = (d.altCode*10 + int(r-'0')) % 1000
			if d.altCode > 255 {
				d.markUnmapped(code)
			}
			return
		}
		d.markUnmapped(code)
		return
	}
	if d.ctrlL || d.ctrlR {
		switch {
		case code == keyRightBrace:
			d.emitByte(0x1D) // Ctrl+] = GS
		case code == keyLeftBrace:
			d.emitByte(0x1B)
		case code == keyBackslash:
			d.emitByte(0x1C)
		default:
			if r, ok := d.layout.lower[code]; ok {
				d.emitByte(byte(r - 'a' + 1)) // a control byte: the frame will be refused with it
			} else {
				d.markUnmapped(code)
			}
		}
		return
	}
	if r, ok := keypad[code]; ok {
		d.emitRune(r)
		return
	}
	k, ok := d.layout.keys[code]
	if !ok {
		d.markUnmapped(code)
		return
	}
	level := levelNormal
	switch {
	case d.altGr:
		level = levelAltGr
	case d.shiftL || d.shiftR:
		level = levelShift
	}
	c := k[level]
	if c.r == 0 {
		d.markUnmapped(code)
		return
	}
	if c.dead {
		if d.pendingDead != 0 {
			// Dead key twice gives the accent itself, as X and the console do.
			d.emitRune(d.pendingDead)
			d.pendingDead = 0
			return
		}
		d.pendingDead = c.r
		return
	}
	if d.pendingDead != 0 {
		// A scanner types a plain ^ or ` as dead key + space; other combinations would
		// compose an accented letter, which no barcode content here needs, so they are
		// kept as the two characters (and show up as such in the raw scan).
		dead := d.pendingDead
		d.pendingDead = 0
		d.emitRune(dead)
		if c.r == ' ' {
			return
		}
	}
	d.emitRune(c.r)
}

func (d *Decoder) emitRune(r rune) {
	if d.opts.GSSubstitute != 0 && r == d.opts.GSSubstitute {
		d.emitByte(0x1D)
		return
	}
	if r < utf8.RuneSelf {
		d.emitByte(byte(r))
		return
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	for _, c := range b[:n] {
		d.emitByte(c)
	}
}

func (d *Decoder) emitByte(c byte) {
	if len(d.buf) >= d.limit {
		d.overflow++
		return
	}
	d.buf = append(d.buf, c)
}

func (d *Decoder) markUnmapped(code uint16) {
	if d.unmapped == nil {
		d.unmapped = fmt.Errorf("%w: code %d (layout %s) at offset %d", ErrUnmappedKey, code, d.layout.Name, len(d.buf))
	}
}

// endLine is Enter: the line so far becomes a frame; an empty line is none.
func (d *Decoder) endLine() (serialscan.Frame, bool) {
	if d.pendingDead != 0 {
		d.emitRune(d.pendingDead)
		d.pendingDead = 0
	}
	raw, overflow, unmapped := d.buf, d.overflow, d.unmapped
	d.buf, d.overflow, d.unmapped, d.altCode = nil, 0, nil, -1
	switch {
	case overflow > 0:
		return serialscan.Frame{Raw: raw, Err: fmt.Errorf("%w: %d bytes dropped; first bytes %x", serialscan.ErrTooLong, overflow, raw)}, true
	case unmapped != nil:
		return serialscan.Frame{Raw: raw, Err: fmt.Errorf("%w; decoded so far %x", unmapped, raw)}, true
	case len(raw) == 0:
		return serialscan.Frame{}, false
	}
	return serialscan.CheckFrame(raw, d.opts.Framing), true
}

// Reset forgets modifier state and any partial line: after reconnecting, the keys held
// when the device vanished are not held any more.
func (d *Decoder) Reset() {
	*d = *NewDecoder(d.layout, d.opts)
}
