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

// maxNoiseSample bounds the bytes of a noise run kept for its FrameError.
const maxNoiseSample = 32

// framer cuts a byte stream into frames with a protocol's splitter. It knows nothing of
// ports, so tests and fuzzers can feed it the driver's exact path byte by byte. Bytes the
// splitter drops as noise are gathered into one run per gap between frames and reported
// (onNoise) before the frame that ends the gap, or when flush is called.
type framer struct {
	split   splitFunc
	onNoise func(n int, sample []byte) // may be nil
	buf     []byte
	pending int // noise bytes of the current gap not reported yet
	sample  []byte
}

func (f *framer) push(b []byte) { f.buf = append(f.buf, b...) }

// next returns the next complete frame (a copy), or nil when it needs more bytes.
func (f *framer) next() []byte {
	for len(f.buf) > 0 {
		adv, frame, noise := f.split(f.buf)
		if adv == 0 {
			break
		}
		if noise > 0 {
			f.dropped(f.buf[:noise])
		}
		var out []byte
		if frame != nil {
			out = append([]byte(nil), frame...)
		}
		f.buf = append(f.buf[:0], f.buf[adv:]...)
		if out != nil {
			f.flush()
			return out
		}
	}
	if len(f.buf) > maxBuffered {
		f.dropped(f.buf)
		f.buf = f.buf[:0]
	}
	return nil
}

func (f *framer) dropped(b []byte) {
	f.pending += len(b)
	if room := maxNoiseSample - len(f.sample); room > 0 {
		f.sample = append(f.sample, b[:min(room, len(b))]...)
	}
}

// flush reports the pending noise run, if any.
func (f *framer) flush() {
	if f.pending == 0 {
		return
	}
	if f.onNoise != nil {
		f.onNoise(f.pending, f.sample)
	}
	f.pending, f.sample = 0, f.sample[:0]
}

// link is a serial port plus a framer. It is used by one goroutine (the driver's Run) only.
type link struct {
	path  string
	ident os.FileInfo // what path named at open, to notice a replaced device node
	port  *serial.Port
	framer
	tmp [256]byte
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
	return &link{path: port, ident: fi, port: p, framer: framer{split: split}}, nil
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
		if f := l.framer.next(); f != nil {
			return f, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			// Noise with no frame after it (wrong baud rate, a reply lost to noise) is
			// counted now, not only once a good frame comes.
			l.flush()
			return nil, errDeadline
		}
		began := time.Now()
		n, err := l.port.Read(l.tmp[:])
		l.push(l.tmp[:n])
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
