package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ErrUnplugged is returned by Port.Read and Port.Write while the simulated device is
// unplugged (between Unplug and Replug), and by reads that were cut off by Unplug.
var ErrUnplugged = errors.New("sim: device unplugged")

// ErrClosed is returned by every Port method after Close.
var ErrClosed = errors.New("sim: port closed")

// Port is a simulated serial device on a real pseudo-terminal. The simulator owns the
// master side; a driver opens Link (a symlink standing in for /dev/serial/by-id/...), which
// points at the slave side (/dev/pts/N), exactly as it would open a USB-serial adapter.
//
// Unplug closes the pty (the driver's open port hangs up, as a USB-serial port does when its
// cable is pulled) and removes Link; Replug opens a fresh pty and points Link at it, so a
// driver that reopens Link by name finds the device again.
//
// The simulator keeps its own slave descriptor open while plugged: without it Linux makes
// master reads fail with EIO whenever the driver has closed its side (between reconnects).
// Bytes the simulator writes while no driver has the port open wait in the pty buffer.
//
// A Port is safe for concurrent use: typically one goroutine reads what the host sent
// (commands) while another writes what the device sends.
type Port struct {
	link string

	mu      sync.Mutex
	master  *os.File
	slave   *os.File
	dev     string
	gen     int           // incremented by every Unplug and Replug
	plugged chan struct{} // closed while plugged; replaced by Unplug
	closed  bool
}

// OpenPort opens a pseudo-terminal pair in raw mode and points the symlink link at its
// slave side (replacing whatever link pointed at). link's directory must exist.
func OpenPort(link string) (*Port, error) {
	p := &Port{link: link, plugged: make(chan struct{})}
	if err := p.plugIn(); err != nil {
		return nil, err
	}
	return p, nil
}

// plugIn opens a pty and points the link at it; p.mu must be held or p not yet shared.
func (p *Port) plugIn() error {
	master, slave, err := pty.Open()
	if err != nil {
		return fmt.Errorf("sim: open pty: %w", err)
	}
	if master, err = pollable(master); err != nil {
		slave.Close()
		return fmt.Errorf("sim: open pty: %w", err)
	}
	if err := makeRaw(slave); err != nil {
		master.Close()
		slave.Close()
		return fmt.Errorf("sim: raw mode on %s: %w", slave.Name(), err)
	}
	if err := replaceSymlink(slave.Name(), p.link); err != nil {
		master.Close()
		slave.Close()
		return err
	}
	p.master, p.slave, p.dev = master, slave, slave.Name()
	p.gen++
	close(p.plugged)
	return nil
}

// pollable returns f on a non-blocking duplicate descriptor, closing f. creack/pty reads
// f.Fd(), which puts the master in blocking mode, and then read deadlines never fire: a
// simulator's reader could only be stopped by closing its port.
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		return nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// replaceSymlink points link at target atomically (symlink to a temporary name, then
// rename), so a driver polling link never sees it missing during a replug.
func replaceSymlink(target, link string) error {
	tmp := filepath.Join(filepath.Dir(link), fmt.Sprintf(".%s.%d.tmp", filepath.Base(link), os.Getpid()))
	_ = os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return fmt.Errorf("sim: link %s: %w", link, err)
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sim: link %s: %w", link, err)
	}
	return nil
}

// makeRaw puts the tty in the state cfmakeraw(3) gives: no echo, no line editing, no
// CR/LF translation, 8 data bits. Drivers set their own termios when they open the port,
// but until then the default cooked mode would echo the simulator's bytes back to it.
func makeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var opErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			opErr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		opErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return opErr
}

// Link is the stable path a driver opens (what an installer would put in `port:`).
func (p *Port) Link() string { return p.link }

// Device is the current slave device path (/dev/pts/N); it changes with every Replug,
// as a real device node may.
func (p *Port) Device() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dev
}

// Plugged reports whether the device is plugged in.
func (p *Port) Plugged() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.master != nil
}

func (p *Port) current() (*os.File, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return nil, p.gen, ErrClosed
	case p.master == nil:
		return nil, p.gen, ErrUnplugged
	}
	return p.master, p.gen, nil
}

// cutOff turns the error of an I/O cut short by Unplug or Close into ErrUnplugged or ErrClosed.
func (p *Port) cutOff(gen int, err error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case p.gen != gen:
		return ErrUnplugged
	}
	return err
}

// Write sends bytes from the device to the host, as the device's TX line would.
func (p *Port) Write(b []byte) (int, error) {
	m, gen, err := p.current()
	if err != nil {
		return 0, err
	}
	n, err := m.Write(b)
	if err != nil {
		return n, p.cutOff(gen, err)
	}
	return n, nil
}

// Read returns bytes the host sent to the device (commands, beep codes). It blocks until
// data arrives, the read deadline passes (os.ErrDeadlineExceeded), or the device is
// unplugged (ErrUnplugged) or closed (ErrClosed).
func (p *Port) Read(b []byte) (int, error) {
	m, gen, err := p.current()
	if err != nil {
		return 0, err
	}
	n, err := m.Read(b)
	if err != nil {
		return n, p.cutOff(gen, err)
	}
	return n, nil
}

// SetReadDeadline bounds the next Reads, as os.File.SetReadDeadline does. A Replug
// opens a new pty without a deadline.
func (p *Port) SetReadDeadline(t time.Time) error {
	m, _, err := p.current()
	if err != nil {
		return err
	}
	return m.SetReadDeadline(t)
}

// WaitPlugged blocks until the device is plugged in or ctx is done.
func (p *Port) WaitPlugged(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	ch := p.plugged
	p.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unplug pulls the cable: the pty is closed, so the driver's open port hangs up, and
// Link is removed, as udev removes a by-id link. Unplugging twice is a no-op.
func (p *Port) Unplug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.master == nil {
		return nil
	}
	return p.unplugLocked()
}

func (p *Port) unplugLocked() error {
	errM := p.master.Close()
	errS := p.slave.Close()
	p.master, p.slave, p.dev = nil, nil, ""
	p.gen++
	p.plugged = make(chan struct{})
	errL := os.Remove(p.link)
	if errors.Is(errL, os.ErrNotExist) {
		errL = nil
	}
	if err := errors.Join(errM, errS, errL); err != nil {
		return fmt.Errorf("sim: unplug %s: %w", p.link, err)
	}
	return nil
}

// Replug plugs the device back in on a new pty and re-creates Link pointing at it.
// Replugging a plugged device is a no-op.
func (p *Port) Replug() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	if p.master != nil {
		return nil
	}
	return p.plugIn()
}

// Close unplugs the device for good and removes Link.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	var err error
	if p.master != nil {
		err = p.unplugLocked()
	}
	p.closed = true
	return err
}
