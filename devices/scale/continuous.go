package scale

import (
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
)

// Toledo continuous status word bits (reference §1.2, Mettler Toledo Wildcat technical
// manual tables 6-9…6-11; Rockwell 57C428 appendix D).
const (
	SWBNet        = 1 << 0
	SWBNegative   = 1 << 1
	SWBOutOfRange = 1 << 2
	SWBMotion     = 1 << 3
	SWBKg         = 1 << 4 // 0 = lb
	SWBPowerUp    = 1 << 6 // power-up, not zeroed yet
	SWCGrams      = 1 << 0
)

// ContinuousFrameLen is the frame without checksum (STX SWA SWB SWC W×6 T×6 CR); with the
// optional checksum character it is one byte longer.
const ContinuousFrameLen = 17

// ContinuousChecksum is the checksum character of frame[:17]: the 2's complement of the
// seven low-order bits of the sum of all preceding characters, STX and CR included.
func ContinuousChecksum(frame []byte) byte {
	var sum byte
	for _, c := range frame {
		sum += c & 0x7f
	}
	return (-sum) & 0x7f
}

// ContinuousReading is a decoded continuous frame: the displayed weight and the tare.
type ContinuousReading struct {
	Reading
	Tare decimal.Decimal
}

// DecodeContinuous decodes one 17-byte frame or an 18-byte frame with its checksum.
// Fixed bits (SWA b5=1 b6=0, SWB b5=1, SWC b5=1) and digits are checked so that line noise
// is refused rather than read as a weight. Bit 7 (parity under 7E1) is cleared first.
func DecodeContinuous(frame []byte) (ContinuousReading, error) {
	if len(frame) != ContinuousFrameLen && len(frame) != ContinuousFrameLen+1 {
		return ContinuousReading{}, fmt.Errorf("toledo continuous frame of %d bytes: %w", len(frame), ErrMalformed)
	}
	var f [ContinuousFrameLen + 1]byte
	for i, c := range frame {
		f[i] = c & 0x7f
	}
	if f[0] != 0x02 || f[16] != '\r' {
		return ContinuousReading{}, fmt.Errorf("toledo continuous % x: not STX…CR: %w", frame, ErrMalformed)
	}
	if len(frame) == ContinuousFrameLen+1 {
		if want := ContinuousChecksum(frame[:ContinuousFrameLen]); f[17] != want {
			return ContinuousReading{}, fmt.Errorf("toledo continuous % x: checksum %#02x, want %#02x: %w", frame, f[17], want, ErrChecksum)
		}
	}
	swa, swb, swc := f[1], f[2], f[3]
	if swa&0x60 != 0x20 || swb&0x20 == 0 || swc&0x20 == 0 {
		return ContinuousReading{}, fmt.Errorf("toledo continuous % x: status word fixed bits: %w", frame, ErrMalformed)
	}
	w, err := sixDigits(f[4:10])
	if err != nil {
		return ContinuousReading{}, fmt.Errorf("toledo continuous % x: weight: %w", frame, err)
	}
	t, err := sixDigits(f[10:16])
	if err != nil {
		return ContinuousReading{}, fmt.Errorf("toledo continuous % x: tare: %w", frame, err)
	}
	// SWA bits 0–2: 0 = XXXX00, 1 = XXXXX0, 2 = XXXXXX, 3 = XXXXX.X … 7 = X.XXXXX.
	exp := 2 - int32(swa&0x07)
	val := decimal.New(w, exp)
	tare := decimal.New(t, exp)
	if swb&SWBNegative != 0 {
		val = val.Neg()
	}
	u := "lb"
	switch {
	case swc&SWCGrams != 0:
		u = "g"
	case swb&SWBKg != 0:
		u = "kg"
	}
	r := Reading{Value: val, HasValue: true, Unit: u, Net: swb&SWBNet != 0, Stable: swb&SWBMotion == 0, Status: devices.WeightOK}
	switch {
	case swb&SWBPowerUp != 0:
		// Not zeroed since power-up: the weight is relative to an unknown zero.
		r.Status, r.Stable = devices.WeightError, false
	case swb&SWBOutOfRange != 0:
		r.Status, r.Stable = devices.WeightOverload, false
		if swb&SWBNegative != 0 {
			r.Status = devices.WeightUnderload
		}
	case swb&SWBMotion != 0:
		r.Status = devices.WeightMotion
	}
	return ContinuousReading{Reading: r, Tare: tare}, nil
}

func sixDigits(b []byte) (int64, error) {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q: %w", b, ErrMalformed)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// Checksum modes of a toledo-continuous scale (config `checksum:`). Whether the indicator
// appends the checksum character is one of its settings; nothing in a frame says it.
const (
	ChecksumAuto = "auto" // learnt from the stream (the default)
	ChecksumOn   = "on"
	ChecksumOff  = "off"
)

// ChecksumModes lists the valid `checksum:` values.
func ChecksumModes() []string { return []string{ChecksumAuto, ChecksumOn, ChecksumOff} }

// learnFrames is how many consecutive frames must agree on the checksum mode before auto
// takes it. One frame is not enough: a frame that lost its checksum character to noise is
// followed directly by the next STX, exactly as a checksum-less frame is.
const learnFrames = 3

// ContinuousSplitter cuts a continuous byte stream into frames. Its mode is the
// indicator's checksum setting (the zero value is auto):
//
//   - on: a frame is STX…CR plus the checksum character (18 bytes), which the decoder
//     checks; a frame whose CR is followed directly by the next STX lost its checksum and
//     is handed over without one (17 bytes), to be refused;
//   - off: a frame is STX…CR (17 bytes); whatever follows up to the next STX is noise;
//   - auto: until learnFrames frames in a row agree (each followed by its valid checksum,
//     or each followed directly by the next STX), frames are handed over only so that
//     the driver knows the indicator is there: Mode is still ChecksumAuto and nothing is
//     read from them. A frame followed by anything else is dropped and restarts the count.
//     Then Mode is on or off for good (until Reset).
//
// In every mode an STX before the 17th byte means the frame was cut short: the search
// restarts there, so the next frame is not lost with it.
type ContinuousSplitter struct {
	mode    string // ChecksumOn, ChecksumOff, or "" / ChecksumAuto while learning
	runMode string // auto: the mode the current run of frames agrees on
	run     int
}

// NewContinuousSplitter returns a splitter in mode (ChecksumAuto, ChecksumOn, ChecksumOff;
// "" is auto).
func NewContinuousSplitter(mode string) *ContinuousSplitter {
	s := &ContinuousSplitter{}
	s.Reset(mode)
	return s
}

// Reset starts over in mode, forgetting what auto had learnt.
func (s *ContinuousSplitter) Reset(mode string) {
	*s = ContinuousSplitter{}
	if mode == ChecksumOn || mode == ChecksumOff {
		s.mode = mode
	}
}

// Mode is ChecksumOn or ChecksumOff once known, ChecksumAuto while still learning.
func (s *ContinuousSplitter) Mode() string {
	if s.mode == "" {
		return ChecksumAuto
	}
	return s.mode
}

// Split returns how many bytes to consume, and a frame (17 or 18 bytes) when one is
// complete. noise counts consumed bytes that were not part of a frame.
func (s *ContinuousSplitter) Split(data []byte) (advance int, frame []byte, noise int) {
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
	d := data[start:]
	for i := 1; i < min(len(d), ContinuousFrameLen); i++ {
		if d[i]&0x7f == 0x02 {
			return start + i, nil, start + i // cut short: a new frame starts here
		}
	}
	if len(d) < ContinuousFrameLen {
		return start, nil, start
	}
	if d[16]&0x7f != '\r' {
		return start + 1, nil, start + 1
	}
	if s.mode == ChecksumOff {
		return start + ContinuousFrameLen, d[:ContinuousFrameLen], start
	}
	if len(d) < ContinuousFrameLen+1 {
		// Need the byte after CR: the checksum, or the next STX.
		return start, nil, start
	}
	next, sum := d[17]&0x7f, ContinuousChecksum(d[:ContinuousFrameLen])
	if s.mode == ChecksumOn {
		if next == 0x02 && sum != 0x02 {
			return start + ContinuousFrameLen, d[:ContinuousFrameLen], start // checksum lost
		}
		return start + ContinuousFrameLen + 1, d[:ContinuousFrameLen+1], start
	}
	// auto: learning.
	var saw string
	switch {
	case next == sum && next == 0x02:
		// Valid either way: proves nothing. The byte is left for the next search.
		return start + ContinuousFrameLen, nil, start
	case next == sum:
		saw = ChecksumOn
	case next == 0x02:
		saw = ChecksumOff
	}
	if saw != "" {
		if _, err := DecodeContinuous(d[:ContinuousFrameLen]); err != nil {
			saw = ""
		}
	}
	if saw == "" {
		s.run = 0
		return start + 1, nil, start + 1
	}
	if saw == s.runMode {
		s.run++
	} else {
		s.runMode, s.run = saw, 1
	}
	n := ContinuousFrameLen
	if saw == ChecksumOn {
		n++
	}
	if s.run >= learnFrames {
		s.mode = saw
	}
	return start + n, d[:n], start
}
