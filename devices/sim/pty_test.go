package sim_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tarm/serial"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// MustPort opens a simulated port whose link lives in a test temp dir.
func MustPort(tb testing.TB, name string) *sim.Port {
	tb.Helper()
	p, err := sim.OpenPort(filepath.Join(tb.TempDir(), name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func openSerial(tb testing.TB, path string) *serial.Port {
	tb.Helper()
	s, err := serial.OpenPort(&serial.Config{Name: path, Baud: 9600, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// readFull reads n bytes from r within the deadline, tolerating timeout EOFs.
func readFull(tb testing.TB, r io.Reader, n int) []byte {
	tb.Helper()
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		k, _ := r.Read(buf)
		got = append(got, buf[:k]...)
	}
	return got
}

func TestPortBothDirectionsByteExact(t *testing.T) {
	p := MustPort(t, "scanner0")
	s := openSerial(t, p.Link())
	defer s.Close()

	// Every byte value, including CR, LF, XON/XOFF and NUL, must pass untouched.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	if _, err := p.Write(all); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s, len(all)); !bytes.Equal(got, all) {
		t.Fatalf("device→host: got % x", got)
	}

	if _, err := s.Write(all); err != nil {
		t.Fatal(err)
	}
	if err := p.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, p, len(all)); !bytes.Equal(got, all) {
		t.Fatalf("host→device: got % x", got)
	}
}

func TestPortUnplugReplug(t *testing.T) {
	p := MustPort(t, "scale0")
	s := openSerial(t, p.Link())
	defer s.Close()

	readDone := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 8))
		readDone <- err
	}()
	if err := p.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := <-readDone; !errors.Is(err, sim.ErrUnplugged) {
		t.Fatalf("read cut by unplug: %v, want ErrUnplugged", err)
	}
	if _, err := os.Lstat(p.Link()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("link still there after unplug: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, sim.ErrUnplugged) {
		t.Fatalf("write while unplugged: %v", err)
	}
	// The host's open port is hung up: reads return at once with nothing.
	if n, _ := s.Read(make([]byte, 8)); n != 0 {
		t.Fatalf("read %d bytes from a hung-up port", n)
	}

	waited := make(chan error, 1)
	go func() { waited <- p.WaitPlugged(context.Background()) }()
	if err := p.Replug(); err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	if p.Device() == "" {
		t.Fatalf("device path after replug: %q", p.Device())
	}
	s2 := openSerial(t, p.Link())
	defer s2.Close()
	if _, err := p.Write([]byte("back\r")); err != nil {
		t.Fatal(err)
	}
	if got := readFull(t, s2, 5); string(got) != "back\r" {
		t.Fatalf("after replug got %q", got)
	}
}

func TestPortWritesBufferedBeforeHostOpens(t *testing.T) {
	p := MustPort(t, "early")
	if _, err := p.Write([]byte("]C1abc\r")); err != nil {
		t.Fatal(err)
	}
	s := openSerial(t, p.Link())
	defer s.Close()
	if got := readFull(t, s, 7); string(got) != "]C1abc\r" {
		t.Fatalf("got %q", got)
	}
}

func TestPortClose(t *testing.T) {
	p := MustPort(t, "closed")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err := p.Replug(); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("replug after close: %v", err)
	}
	if err := p.WaitPlugged(context.Background()); !errors.Is(err, sim.ErrClosed) {
		t.Fatalf("wait after close: %v", err)
	}
}

func TestReadDeadlineFires(t *testing.T) {
	p, err := sim.OpenPort(filepath.Join(t.TempDir(), "ttyDEADLINE"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 16))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read: %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		p.Close()
		t.Fatal("read deadline did not fire")
	}
}
