package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tarm/serial"
)

// readTick bounds each blocking read (tarm/serial's ReadTimeout, VTIME on Linux), so the
// read loop notices a cancelled context or a silent scale within this long. tarm reports a
// read that timed out with nothing as (0, io.EOF).
const readTick = 100 * time.Millisecond

// maxBuffered bounds what a link keeps between frames; splitters consume noise, so this
// only caps a pathological partial frame.
const maxBuffered = 4096

type splitFunc func(data []byte) (advance int, frame []byte, noise int)

// link is a serial port plus a frame splitter. It is used by one goroutine (the driver's
// Run) only.
type link struct {
	path  string
	ident os.FileInfo // what path named at open, to notice a replaced device node
	port  *serial.Port
	split splitFunc
	buf   []byte
	tmp   [256]byte
	noise int // bytes dropped as noise, for logs and tests
}

func openLink(port string, s Serial, split splitFunc) (*link, error) {
	p, err := serial.OpenPort(s.tarm(port, readTick))
	if err != nil {
		return nil, fmt.Errorf("open %s (%v): %w", port, s, err)
	}
	// Drop whatever waited in the buffers (replies to a previous session's commands,
	// continuous frames from before we listened): they are stale.
	_ = p.Flush()
	fi, err := os.Stat(port)
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("open %s: %w", port, err)
	}
	return &link{path: port, ident: fi, port: p, split: split}, nil
}

func (l *link) Close() error { return l.port.Close() }

func (l *link) send(b []byte) error {
	if _, err := l.port.Write(b); err != nil {
		return fmt.Errorf("write %q: %w", b, err)
	}
	return nil
}

// errDeadline is returned by next when no frame arrived before the deadline.
var errDeadline = errors.New("deadline")

// next returns the next frame, or errDeadline, ctx.Err() or a read error. The frame
// aliases the link's buffer until the next call.
func (l *link) next(ctx context.Context, deadline time.Time) ([]byte, error) {
	for {
		for len(l.buf) > 0 {
			adv, frame, noise := l.split(l.buf)
			if adv == 0 {
				break
			}
			l.noise += noise
			if frame != nil {
				out := append([]byte(nil), frame...)
				l.buf = append(l.buf[:0], l.buf[adv:]...)
				return out, nil
			}
			l.buf = append(l.buf[:0], l.buf[adv:]...)
		}
		if len(l.buf) > maxBuffered {
			l.noise += len(l.buf)
			l.buf = l.buf[:0]
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			return nil, errDeadline
		}
		began := time.Now()
		n, err := l.port.Read(l.tmp[:])
		l.buf = append(l.buf, l.tmp[:n]...)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read: %w", err)
		}
		if n == 0 && time.Since(began) < readTick/2 {
			// A hung-up port (USB adapter pulled, pty closed) reads as (0, EOF) at once
			// instead of after the read tick. If the device node is gone or replaced,
			// say so now; otherwise wait out the tick rather than spin.
			if err := l.gone(); err != nil {
				return nil, err
			}
			t := time.NewTimer(readTick)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

func (l *link) gone() error {
	fi, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", l.path, ErrGone, err)
	}
	if !os.SameFile(fi, l.ident) {
		return fmt.Errorf("%s: %w: replaced", l.path, ErrGone)
	}
	return nil
}
