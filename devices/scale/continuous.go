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

// ContinuousSplitter cuts a continuous byte stream into frames. Whether the indicator
// appends the optional checksum is a setting of the indicator, not something the frame
// says, so the splitter learns it from the byte after CR:
//
//   - a byte equal to the frame's checksum proves checksums are on; from then on every
//     frame must carry a valid one (a corrupted frame is handed over with its bad checksum
//     and refused, never read as a checksum-less frame);
//   - plainAfter frames in a row followed directly by the next STX prove they are off;
//     from then on a frame ends at its CR and whatever follows up to the next STX is noise;
//   - until one is proven, a frame followed by anything else is dropped.
type ContinuousSplitter struct {
	checksummed bool
	plain       bool
	plainRun    int
}

const plainAfter = 2

// Checksummed reports whether the splitter has seen the indicator send checksums.
func (s *ContinuousSplitter) Checksummed() bool { return s.checksummed }

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
	if len(d) >= ContinuousFrameLen && d[16]&0x7f != '\r' {
		return start + 1, nil, start + 1
	}
	if s.plain && len(d) >= ContinuousFrameLen {
		return start + ContinuousFrameLen, d[:ContinuousFrameLen], start
	}
	if len(d) < ContinuousFrameLen+1 {
		// Need the byte after CR to know whether a checksum follows.
		return start, nil, start
	}
	next := d[17] & 0x7f
	switch {
	case next == ContinuousChecksum(d[:ContinuousFrameLen]):
		s.checksummed, s.plainRun = true, 0
		return start + ContinuousFrameLen + 1, d[:ContinuousFrameLen+1], start
	case s.checksummed:
		// Hand the frame over with its wrong checksum so the decoder refuses it by name.
		return start + ContinuousFrameLen + 1, d[:ContinuousFrameLen+1], start
	case next == 0x02:
		s.plainRun++
		s.plain = s.plainRun >= plainAfter
		return start + ContinuousFrameLen, d[:ContinuousFrameLen], start
	}
	s.plainRun = 0
	return start + 1, nil, start + 1
}
