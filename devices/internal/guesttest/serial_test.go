package guesttest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sys/unix"

	"github.com/depotd/depotd/devices/internal/guesttest"
	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/devices/sim/simtest"
)

// adapter is a QEMU usb-serial (an FTDI FT232) whose line is a host pty that a simulator
// drives: the guest's ftdi_sio makes it /dev/ttyUSBn.
type adapter struct {
	id, chardev, serial string
}

// plugAdapter connects the pty at pts to a new chardev and plugs a usb-serial on it; the
// test's end unplugs both.
func plugAdapter(t *testing.T, ctx context.Context, g *guesttest.Guest, id, pts string) adapter {
	t.Helper()
	a := adapter{id: id, chardev: id + "-line", serial: "FT" + id}
	if _, err := g.QMP.Execute(ctx, "chardev-add", map[string]any{"id": a.chardev,
		"backend": map[string]any{"type": "serial", "data": map[string]any{"device": pts}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = g.DeviceDel(ctx, a.id) // unplugged already by a hot-plug test
		if _, err := g.QMP.Execute(ctx, "chardev-remove", map[string]any{"id": a.chardev}); err != nil {
			t.Errorf("chardev-remove: %v", err)
		}
	})
	a.plug(t, ctx, g)
	return a
}

func (a adapter) plug(t *testing.T, ctx context.Context, g *guesttest.Guest) {
	t.Helper()
	if err := g.DeviceAdd(ctx, "usb-serial", a.id, map[string]any{"bus": "xhci.0", "chardev": a.chardev, "serial": a.serial}); err != nil {
		t.Fatal(err)
	}
}

// node waits for the adapter's tty in the guest.
func (a adapter) node(t *testing.T, ctx context.Context, g *guesttest.Guest) string {
	t.Helper()
	return usbNode(t, ctx, g, "tty", "ttyUSB*", "/dev", a.serial)
}

// hostBaud reads the baud rate the guest's driver set, as QEMU passed the FTDI adapter's
// SET_BAUD request on to the host pty. A pty keeps only the speed of what it is set to
// (Linux drops data bits and parity on ptys), so the framing is read in the guest.
func hostBaud(t *testing.T, pts string) int {
	t.Helper()
	f, err := os.OpenFile(pts, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	bauds := map[uint32]int{unix.B1200: 1200, unix.B2400: 2400, unix.B4800: 4800, unix.B9600: 9600, unix.B19200: 19200, unix.B38400: 38400, unix.B57600: 57600, unix.B115200: 115200}
	return bauds[tio.Cflag&unix.CBAUD]
}

// guestLine is the line setting of the guest's tty while depotd holds it open, from
// stty -a: "19200 7E1".
func guestLine(t *testing.T, ctx context.Context, g *guesttest.Guest, node string) string {
	t.Helper()
	out := run(t, ctx, g, "stty -F "+node+" -a")
	var baud string
	bits, parity, stop := "?", "N", "1"
	f := strings.FieldsFunc(out, func(r rune) bool { return r == ' ' || r == ';' || r == '\n' })
	for i, w := range f {
		switch {
		case w == "speed" && i+1 < len(f):
			baud = f[i+1]
		case len(w) == 3 && strings.HasPrefix(w, "cs") && w[2] >= '5' && w[2] <= '8':
			bits = w[2:]
		case w == "parenb":
			if parity == "N" {
				parity = "E"
			}
		case w == "parodd":
			parity = "O"
		case w == "cstopb":
			stop = "2"
		}
	}
	if parity == "O" && !strings.Contains(" "+out, " parenb") {
		parity = "N" // parodd without parenb means no parity
	}
	return baud + " " + bits + parity + stop
}

// checkLine: depotd set the guest's tty to want ("19200 7E1"), and the baud rate reached
// the adapter (the host end of the line).
func checkLine(t *testing.T, ctx context.Context, g *guesttest.Guest, node, pts, want string) {
	t.Helper()
	if got := guestLine(t, ctx, g, node); got != want {
		t.Errorf("guest %s set to %s, want %s", node, got, want)
	}
	if got := strconv.Itoa(hostBaud(t, pts)); !strings.HasPrefix(want, got+" ") {
		t.Errorf("the adapter's line runs at %s baud, want %s", got, want)
	}
}

// TestASerialScannerOnAUSBAdapterReachesDepotdThroughTtyUSB at the scanner's configured
// line settings (19200 7E1, STX/ETX framing, as the installer's guide shows).
func TestASerialScannerOnAUSBAdapterReachesDepotdThroughTtyUSB(t *testing.T) {
	g := guest(t)
	ctx := within(t, 2*time.Minute)
	sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "scanner"), sim.ScannerFraming{Prefix: "\x02", Suffix: "\x03"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	a := plugAdapter(t, ctx, g, "scan1", sc.Device())
	node := a.node(t, ctx, g)
	w := startWatch(t, ctx, g, "serialscan", fmt.Sprintf(
		"  - name: receiving\n    kind: scanner\n    port: %s\n    baud: 19200\n    data_bits: 7\n    parity: even\n    suffix: etx\n    prefix: \"\\x02\"\n", node))
	w.waitFor(t, ctx, "the scanner connected", func(e []event) bool { return lastState(e) == "connected" })
	checkLine(t, ctx, g, node, sc.Device(), "19200 7E1")
	want := []string{"]C10109501101530003\x1d10LOT7", "]E04006381333931"}
	for _, s := range want {
		if err := sc.Scan(s[:3], s[3:]); err != nil {
			t.Fatal(err)
		}
	}
	evs := w.waitFor(t, ctx, "two scans", func(e []event) bool { return len(only(e, "scan"))+len(only(e, "bad_scan")) >= 2 })
	if got := scansOf(evs); quote(got) != quote(want) || len(only(evs, "bad_scan")) > 0 {
		t.Fatalf("scans %s (refused %+v), want %s", quote(got), only(evs, "bad_scan"), quote(want))
	}
}

// TestSerialScalesOnAUSBAdapterWeighThroughTtyUSB at each protocol's line settings:
// Toledo 8217 at its 9600 7E1, MT-SICS at a configured 19200 8N1.
func TestSerialScalesOnAUSBAdapterWeighThroughTtyUSB(t *testing.T) {
	g := guest(t)
	for _, tc := range []struct {
		protocol, extra, line string
		opts                  sim.ScaleOptions
		load                  string
		value, unit           string
	}{
		{sim.ScaleToledo8217, "    unit: kg\n", "9600 7E1", sim.ScaleOptions{Unit: "kg"}, "1.234", "1.234", "kg"},
		{sim.ScaleMTSICS, "    baud: 19200\n", "19200 8N1", sim.ScaleOptions{Unit: "g", Decimals: 2}, "100.5", "100.5", "g"},
	} {
		t.Run(tc.protocol, func(t *testing.T) {
			ctx := within(t, 2*time.Minute)
			sc := simtest.StartScale(t, tc.protocol, tc.opts)
			sc.SetLoad(decimal.RequireFromString(tc.load))
			a := plugAdapter(t, ctx, g, "scale1", sc.Port().Device())
			node := a.node(t, ctx, g)
			w := startWatch(t, ctx, g, "scale-"+tc.protocol, fmt.Sprintf(
				"  - name: scale\n    kind: scale\n    protocol: %s\n    port: %s\n%s", tc.protocol, node, tc.extra))
			evs := w.waitFor(t, ctx, "a stable weight", func(e []event) bool {
				for _, x := range only(e, "weight") {
					if x.Stable {
						return true
					}
				}
				return false
			})
			var got event
			for _, x := range only(evs, "weight") {
				if x.Stable {
					got = x
					break
				}
			}
			if got.Value != tc.value || got.Unit != tc.unit || got.Status != "ok" {
				t.Fatalf("weight %+v, want %s %s ok", got, tc.value, tc.unit)
			}
			checkLine(t, ctx, g, node, sc.Port().Device(), tc.line)
		})
	}
}
