package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"
)

// ScannerFraming is what a real scanner is programmed to put around each barcode
// (reference §2.1: `[prefix][AIM ID]<data>[suffix]`).
type ScannerFraming struct {
	Prefix string // e.g. "\x02" (STX) or "" for none
	// Suffix is the terminator bytes: "\r" (most factory defaults), "\r\n", "\n", "\x03"
	// (ETX), or "" for scanners that rely on an inter-character timeout.
	Suffix string
	// NoAIM leaves the AIM identifier out even when Scan is given one, as a scanner with
	// "transmit AIM ID" disabled does.
	NoAIM bool
}

// Scanner is a serial barcode scanner on a pseudo-terminal. It embeds the Port, so
// Link, Unplug, Replug and Close apply to it, and Read returns what the host sent it
// (beep commands).
type Scanner struct {
	*Port
	framing ScannerFraming
}

// NewScanner plugs in a scanner whose port appears at link.
func NewScanner(link string, f ScannerFraming) (*Scanner, error) {
	p, err := OpenPort(link)
	if err != nil {
		return nil, err
	}
	return &Scanner{Port: p, framing: f}, nil
}

// Frame returns the exact bytes the scanner sends for one read: prefix, AIM identifier
// (e.g. "]C1", or "" for none), data with GS (0x1D) as FNC1, suffix.
func (s *Scanner) Frame(aim, data string) []byte {
	if s.framing.NoAIM {
		aim = ""
	}
	b := make([]byte, 0, len(s.framing.Prefix)+len(aim)+len(data)+len(s.framing.Suffix))
	b = append(b, s.framing.Prefix...)
	b = append(b, aim...)
	b = append(b, data...)
	return append(b, s.framing.Suffix...)
}

// Scan sends one read in a single write, as a scanner's UART sends a frame in one burst.
func (s *Scanner) Scan(aim, data string) error {
	if _, err := s.Write(s.Frame(aim, data)); err != nil {
		return fmt.Errorf("scan %q: %w", data, err)
	}
	return nil
}

// ScanSlowly sends one read byte by byte with gap between bytes, so the host sees the
// frame split across many reads (a slow baud rate or a congested USB hub).
func (s *Scanner) ScanSlowly(ctx context.Context, aim, data string, gap time.Duration) error {
	t := time.NewTicker(gap)
	defer t.Stop()
	for _, c := range s.Frame(aim, data) {
		if _, err := s.Write([]byte{c}); err != nil {
			return fmt.Errorf("scan %q: %w", data, err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Noise writes raw bytes as they are, framing or not: a glitch on the line, a scanner
// sending a control sequence, or half a frame.
func (s *Scanner) Noise(b []byte) error {
	if _, err := s.Write(b); err != nil {
		return fmt.Errorf("noise: %w", err)
	}
	return nil
}

// Garbage writes n random bytes from rng followed by the suffix, as line noise from a
// bad ground or a wrong baud rate produces; the suffix makes the host end the frame.
func (s *Scanner) Garbage(rng *rand.Rand, n int) error {
	b := make([]byte, n, n+len(s.framing.Suffix))
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return s.Noise(append(b, s.framing.Suffix...))
}
