package guesttest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/internal/guesttest"
	"github.com/depotd/depotd/devices/sim"
)

// stopwatch is a guest-side measurement: from the moment node leaves /dev
// (the kernel has removed the device) to the moment depotd has printed one more
// "disconnected" than it had when the stopwatch started (0 when depotd saw the hang-up
// before the node went). The guest measures it with its own uptime clock, so a slow
// command channel on a loaded host does not count.
type stopwatch struct{ file string }

func startStopwatch(t *testing.T, ctx context.Context, g *guesttest.Guest, w *watch, node string) stopwatch {
	t.Helper()
	s := stopwatch{file: "/tmp/" + w.name + ".latency"}
	out := fmt.Sprintf("/tmp/%s.out", w.name)
	// n is counted before the command returns, so before the unplug; the rest runs on.
	run(t, ctx, g, fmt.Sprintf(`n=$(grep -c '"state":"disconnected"' %[2]s); (while [ -e %[1]s ]; do usleep 5000; done; a=$(cut -d' ' -f1 /proc/uptime); while [ $(grep -c '"state":"disconnected"' %[2]s) -le $n ]; do usleep 5000; done; b=$(cut -d' ' -f1 /proc/uptime); echo $a $b >%[3]s) >/dev/null 2>&1 &`, node, out, s.file))
	return s
}

// read waits for the measurement and returns it.
func (s stopwatch) read(t *testing.T, ctx context.Context, g *guesttest.Guest) time.Duration {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := g.Run(wctx, "until [ -e "+s.file+" ]; do usleep 50000; done; cat "+s.file)
	if err != nil {
		dbg, _ := g.Run(ctx, "ps; ls -l /dev/ttyUSB* /dev/input; cat /tmp/*.out")
		t.Fatalf("%v\n%s", err, dbg)
	}
	f := strings.Fields(out)
	if len(f) != 2 {
		t.Fatalf("stopwatch: %q", f)
	}
	a, err1 := strconv.ParseFloat(f[0], 64)
	b, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("stopwatch: %q", f)
	}
	return time.Duration((b - a) * float64(time.Second))
}

// replugCheck is what every hot-plug case proves: disconnected within a second of the
// kernel removing the device, connected again after the replug without restarting
// depotd, and every scan delivered exactly once.
func replugCheck(t *testing.T, ctx context.Context, g *guesttest.Guest, w *watch, node string,
	unplug, replug func(), scan func(s string), before, after string) {
	t.Helper()
	w.waitFor(t, ctx, "the device connected", func(e []event) bool { return lastState(e) == "connected" })
	scan(before)
	w.waitFor(t, ctx, "the scan before the unplug", func(e []event) bool { return len(only(e, "scan")) >= 1 })

	sw := startStopwatch(t, ctx, g, w, node)
	unplug()
	took := sw.read(t, ctx, g)
	t.Logf("disconnected %s after the kernel removed %s", took, node)
	if took > time.Second {
		t.Errorf("depotd reported the unplug %s after the device went, want within a second", took)
	}
	replug()
	if again := waitGuest(t, ctx, g, "the device node back", "[ -e "+node+" ] && echo "+node); again != node {
		t.Fatalf("replugged as %s, not %s", again, node)
	}
	w.waitFor(t, ctx, "the device connected again", func(e []event) bool {
		return countState(e, "connected") == 2 && lastState(e) == "connected"
	})
	scan(after)
	evs := w.waitFor(t, ctx, "the scan after the replug", func(e []event) bool { return len(only(e, "scan")) >= 2 })
	if got, want := scansOf(evs), []string{before, after}; quote(got) != quote(want) {
		t.Fatalf("scans %s, want %s once each", quote(got), quote(want))
	}
	if n := countState(evs, "disconnected"); n != 1 {
		t.Errorf("%d disconnections reported for one unplug: %+v", n, evs)
	}
}

// TestAnUnpluggedDeviceGoesDisconnectedAndComesBackOnReplugWithEveryScanOnce unplugs and
// replugs each USB device (QMP device_del / device_add) while depotd runs.
func TestAnUnpluggedDeviceGoesDisconnectedAndComesBackOnReplugWithEveryScanOnce(t *testing.T) {
	g := guest(t)
	t.Run("keyboard", func(t *testing.T) {
		ctx := within(t, 3*time.Minute)
		node := usbNode(t, ctx, g, "input", "event*", "/dev/input", "SCANNER1")
		w := startWatch(t, ctx, g, "hotplug-kbd", wedgeConfig(node, "us"))
		replugCheck(t, ctx, g, w, node,
			func() {
				if err := g.DeviceDel(ctx, "kbd"); err != nil {
					t.Fatal(err)
				}
			},
			func() {
				if err := g.DeviceAdd(ctx, "usb-kbd", "kbd", map[string]any{"bus": "xhci.0", "port": "1", "serial": "SCANNER1", "display": "scanner-head"}); err != nil {
					t.Fatal(err)
				}
			},
			func(s string) { typeWithGS(t, ctx, g, "scanner-head", usKeys, gsCtrl, s) },
			"]C10109501101530003\x1d10BEFORE1", "]C10109501101530003\x1d10AFTER2")
	})
	t.Run("serial", func(t *testing.T) {
		ctx := within(t, 3*time.Minute)
		sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "scanner"), sim.ScannerFraming{Suffix: "\r\n"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		a := plugAdapter(t, ctx, g, "hot1", sc.Device())
		node := a.node(t, ctx, g)
		w := startWatch(t, ctx, g, "hotplug-serial", fmt.Sprintf("  - name: dock\n    kind: scanner\n    port: %s\n", node))
		replugCheck(t, ctx, g, w, node,
			func() {
				if err := g.DeviceDel(ctx, a.id); err != nil {
					t.Fatal(err)
				}
			},
			func() { a.plug(t, ctx, g) },
			func(s string) {
				if err := sc.Scan(s[:3], s[3:]); err != nil {
					t.Fatal(err)
				}
			},
			"]E04006381333931", "]C10109501101530003\x1d10AFTER")
	})
}
