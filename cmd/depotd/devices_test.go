package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices/sim"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func waitText(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output: %s", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDevicesProbeScanner probes a simulated serial scanner on a real pty: line noise
// first (shown as refused), then a GS1-128 scan printed raw and decoded.
func TestDevicesProbeScanner(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "usb-Honeywell_3320g-if00"), sim.ScannerFraming{Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"devices", "probe", "--kind", "scanner", "--port", sc.Link(), "--timeout", "30s"},
			strings.NewReader(""), &stdout, &stderr)
	}()
	waitText(t, &stderr, "connected")
	if err := sc.Noise([]byte("\x00\x07\r\n")); err != nil {
		t.Fatal(err)
	}
	waitText(t, &stderr, "refused: control byte")
	if err := sc.Scan("]C1", "0109501101530003\x1d10LOT7"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("probe did not return")
	}
	out := stdout.String()
	t.Log(out)
	for _, want := range []string{
		"aim:     ]C1",
		`data:    0109501101530003\x1d10LOT7`,
		"hex:     5d433130313039353031313031353330303033" + "1d" + "31304c4f5437",
		`"gtin":"09501101530003"`,
		`"lot":"LOT7"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestDevicesProbeScannerErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "nothing-here")
	if c := run(context.Background(), []string{"devices", "probe", "--kind", "scanner", "--port", missing, "--timeout", "5s"},
		strings.NewReader(""), &stdout, &stderr); c != 1 || !strings.Contains(stderr.String(), "no such file") {
		t.Errorf("missing port: exit %d, %s", c, stderr.String())
	}
	stderr.Reset()
	if c := run(context.Background(), []string{"devices", "probe", "--port", "/dev/input/event0", "--layout", "dvorak"},
		strings.NewReader(""), &stdout, &stderr); c != 2 || !strings.Contains(stderr.String(), "layout") {
		t.Errorf("bad layout: exit %d, %s", c, stderr.String())
	}
	stderr.Reset()
	if c := run(context.Background(), []string{"devices", "frobnicate"}, strings.NewReader(""), &stdout, &stderr); c != 2 {
		t.Errorf("unknown subcommand: exit %d", c)
	}
}

func TestDevicesProbeTimeout(t *testing.T) {
	sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "quiet"), sim.ScannerFraming{Suffix: "\r"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	var stdout, stderr bytes.Buffer
	c := run(context.Background(), []string{"devices", "probe", "--port", sc.Link(), "--timeout", "300ms"}, strings.NewReader(""), &stdout, &stderr)
	if c != 1 || !strings.Contains(stderr.String(), "no scan within 300ms") {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
}

// TestDevicesListTree lists a fake /dev and /sys laid out as udev and the kernel do.
func TestDevicesListTree(t *testing.T) {
	root := t.TempDir()
	dev, sys := filepath.Join(root, "dev"), filepath.Join(root, "sys")
	mk := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	// USB-CDC scanner: ttyACM0, interface dir under the USB device that has the ids.
	usb := filepath.Join(sys, "devices", "pci0000:00", "usb1", "1-2")
	mk(filepath.Join(usb, "idVendor"), "0c2e\n")
	mk(filepath.Join(usb, "idProduct"), "0b61\n")
	mk(filepath.Join(usb, "manufacturer"), "Honeywell\n")
	mk(filepath.Join(usb, "product"), "3320g\n")
	mk(filepath.Join(usb, "1-2:1.0", "tty", "ttyACM0", "dev"), "166:0\n")
	link(filepath.Join(usb, "1-2:1.0"), filepath.Join(sys, "class", "tty", "ttyACM0", "device"))
	mk(filepath.Join(dev, "ttyACM0"), "")
	link("../../ttyACM0", filepath.Join(dev, "serial", "by-id", "usb-Honeywell_3320g_123-if00"))
	// A plain USB-serial adapter without by-id link.
	mk(filepath.Join(dev, "ttyUSB0"), "")
	// Keyboard-wedge scanner.
	mk(filepath.Join(dev, "input", "event5"), "")
	link("../event5", filepath.Join(dev, "input", "by-id", "usb-Zebra_DS2208-event-kbd"))
	link("../event5", filepath.Join(dev, "input", "by-id", "usb-Zebra_DS2208-event-mouse"))
	mk(filepath.Join(sys, "class", "input", "event5", "device", "name"), "Zebra DS2208\n")
	mk(filepath.Join(sys, "class", "input", "event5", "device", "id", "vendor"), "05e0\n")
	mk(filepath.Join(sys, "class", "input", "event5", "device", "id", "product"), "1200\n")
	// HID POS scale.
	mk(filepath.Join(dev, "hidraw0"), "")
	mk(filepath.Join(sys, "class", "hidraw", "hidraw0", "device", "uevent"), "DRIVER=hid-generic\nHID_ID=0003:00000EB8:0000F000\nHID_NAME=Mettler Toledo PS60\n")

	got := listCandidates(dev, sys)
	var lines []string
	for _, c := range got {
		lines = append(lines, strings.Join([]string{c.Class, filepath.Base(c.Path), filepath.Base(c.Device), c.Vendor, c.Product, c.Name}, "|"))
	}
	want := []string{
		"serial|usb-Honeywell_3320g_123-if00|ttyACM0|0c2e|0b61|Honeywell 3320g",
		"input|usb-Zebra_DS2208-event-kbd|event5|05e0|1200|Zebra DS2208",
		"serial|ttyUSB0|ttyUSB0|||",
		"hidraw|hidraw0|hidraw0|0eb8|f000|Mettler Toledo PS60",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if len(listCandidates(filepath.Join(root, "empty"), sys)) != 0 {
		t.Fatal("empty /dev listed something")
	}
}

func TestDevicesListRuns(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if c := run(context.Background(), []string{"devices", "list"}, strings.NewReader(""), &stdout, &stderr); c != 0 {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	// This machine may or may not have devices; either answer is a complete sentence.
	if out := stdout.String(); !strings.Contains(out, "none found") && !strings.Contains(out, "PORT") {
		t.Fatalf("output %q", out)
	}
	stdout.Reset()
	if c := run(context.Background(), []string{"devices", "list", "--json"}, strings.NewReader(""), &stdout, &stderr); c != 0 || !strings.HasPrefix(stdout.String(), "[") {
		t.Fatalf("json: exit %d %q", c, stdout.String())
	}
}

func TestKindArg(t *testing.T) {
	for args, want := range map[string]string{
		"--kind scale --port x": "scale", "--port x -kind=scale": "scale", "--kind=scanner": "scanner",
		"--port x": "", "--kind": "",
	} {
		if got := kindArg(strings.Fields(args)); got != want {
			t.Errorf("kindArg(%q) = %q, want %q", args, got, want)
		}
	}
}

// TestDevicesProbeRoutesScale: --kind scale goes to the scale probe (devices_scale.go),
// whose own tests cover it on simulated scales.
func TestDevicesProbeRoutesScale(t *testing.T) {
	var stdout, stderr bytes.Buffer
	c := run(context.Background(), []string{"devices", "probe", "--kind", "scale", "--protocol", "nope", "--port", "/dev/null"},
		strings.NewReader(""), &stdout, &stderr)
	if c == 0 || !strings.Contains(stderr.String(), "scale protocol") {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
}
