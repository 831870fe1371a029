package guesttest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	firmwareconfig "github.com/depotd/depotd/firmware-config"

	"github.com/depotd/depotd/devices/internal/guesttest"
	"github.com/depotd/depotd/devices/sim"
)

// chroot runs a command of Debian's udev root in the guest. udevadm refuses to trigger
// or control from a chroot unless told the chroot is meant.
func chroot(cmd string) string {
	return "SYSTEMD_IGNORE_CHROOT=1 chroot " + guesttest.UdevChroot + " " + cmd
}

// startUdev installs rules as /etc/udev/rules.d/99-depotd.rules of the udev root, starts
// systemd-udevd there on the guest's own /dev, /sys and /proc, and replays the devices
// present (udevadm trigger, settle) as at a gateway's boot. The test's end stops it.
func startUdev(t *testing.T, ctx context.Context, g *guesttest.Guest, rules []byte) {
	t.Helper()
	r := guesttest.UdevChroot
	run(t, ctx, g, fmt.Sprintf("mkdir -p %[1]s/dev %[1]s/sys %[1]s/proc %[1]s/run && mount --bind /dev %[1]s/dev && mount -t sysfs sys %[1]s/sys && mount -t proc proc %[1]s/proc && mount -t tmpfs run %[1]s/run", r))
	if err := g.WriteFile(ctx, r+"/etc/udev/rules.d/99-depotd.rules", rules); err != nil {
		t.Fatal(err)
	}
	// In the foreground of a background shell, so its log is there for a failure's report.
	run(t, ctx, g, chroot("/usr/lib/systemd/systemd-udevd --debug")+" >/tmp/udevd.log 2>&1 & echo $! >/tmp/udevd.pid")
	waitGuest(t, ctx, g, "udevd's control socket", "[ -S "+r+"/run/udev/control ]")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if t.Failed() {
			log, _ := g.Run(ctx, "tail -c 6000 /tmp/udevd.log")
			t.Logf("udevd log:\n%s", log)
		}
		if _, err := g.Run(ctx, chroot("udevadm control --exit")); err != nil {
			t.Errorf("stop udevd: %v", err)
		}
		waitGuest(t, ctx, g, "udevd to exit", "! kill -0 $(cat /tmp/udevd.pid) 2>/dev/null")
		if _, err := g.Run(ctx, fmt.Sprintf("umount %[1]s/run %[1]s/proc %[1]s/sys %[1]s/dev", r)); err != nil {
			t.Errorf("unmount the udev root: %v", err)
		}
	})
	trigger(t, ctx, g, "")
}

func trigger(t *testing.T, ctx context.Context, g *guesttest.Guest, match string) {
	t.Helper()
	// --settle waits for these very events: plain settle returns at once while udevd is
	// still reading its rules and has queued nothing yet.
	run(t, ctx, g, chroot("udevadm trigger --action=add --settle "+match))
}

// nodeOf is what link points to and that node's group id and mode, as the guest sees it.
func nodeOf(t *testing.T, ctx context.Context, g *guesttest.Guest, link string) (node, perm string) {
	t.Helper()
	out, err := g.Run(ctx, fmt.Sprintf("n=$(readlink -f %s) && [ -c \"$n\" ] && echo $n $(stat -c '%%g %%a' $n)", link))
	if err != nil {
		dbg, _ := g.Run(ctx, "ls -l /dev/depotd /dev/serial/by-id /dev/input/by-id 2>&1")
		t.Fatalf("%s: %v\n%s", link, err, dbg)
	}
	f := strings.Fields(out)
	if len(f) != 3 {
		t.Fatalf("%s: %q", link, out)
	}
	return f[0], f[1] + " " + f[2]
}

// TestTheShippedUdevRulesNameAndOpenTheDevicesForDepotdUnderARealUdev runs
// firmware-config/99-depotd.rules in Debian's systemd-udevd in the guest, next to Debian's
// own rules, with an FTDI adapter and two USB keyboards plugged in: the adapter gets
// /dev/depotd/tty-0403-6001-<serial>, group dialout, mode 0660, and its by-id name; a
// keyboard of a vendor the rules do not list (QEMU's, standing in for the operator's) gets
// nothing from them; after the README's step for an unlisted scanner vendor, the scanner
// gets /dev/depotd/input-<vid>-<pid>-<serial> and its HID interface
// /dev/depotd/hidraw-<vid>-<pid>-<serial> (the HID POS scales' rule), group input, 0660;
// and `depotd devices list` shows the adapter and the scanner by their by-id names with
// their USB ids.
func TestTheShippedUdevRulesNameAndOpenTheDevicesForDepotdUnderARealUdev(t *testing.T) {
	g := guest(t)
	guesttest.Require(t, shared.udevErr)
	ctx := within(t, 4*time.Minute)
	sc, err := sim.NewScanner(filepath.Join(t.TempDir(), "scanner"), sim.ScannerFraming{Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	a := plugAdapter(t, ctx, g, "udev1", sc.Device())
	tty := a.node(t, ctx, g)
	kbd := usbNode(t, ctx, g, "input", "event*", "/dev/input", "SCANNER1")
	// The keyboard's HID interface has a hidraw node too, as a USB HID scale's has.
	hidraw := usbNode(t, ctx, g, "hidraw", "hidraw*", "/dev", "SCANNER1")
	dialout, input := shared.udev.Groups["dialout"], shared.udev.Groups["input"]
	if dialout == 0 || input == 0 {
		t.Fatalf("the Debian root has no dialout or input group: %v", shared.udev.Groups)
	}

	startUdev(t, ctx, g, firmwareconfig.UdevRules)

	// QEMU's usb-serial is an FTDI FT232 (0403:6001).
	link := "/dev/depotd/tty-0403-6001-" + a.serial
	node, perm := nodeOf(t, ctx, g, link)
	if node != tty || perm != fmt.Sprintf("%d 660", dialout) {
		t.Errorf("%s -> %s (gid, mode %s), want %s (%d 660: dialout)", link, node, perm, tty, dialout)
	}
	byID := waitGuest(t, ctx, g, "the adapter's by-id name", "ls /dev/serial/by-id/*"+a.serial+"*")
	if n, _ := nodeOf(t, ctx, g, byID); n != tty {
		t.Errorf("%s -> %s, want %s", byID, n, tty)
	}
	kbdByID := "/dev/input/by-id/usb-QEMU_QEMU_USB_Keyboard_SCANNER1-event-kbd"
	if n, _ := nodeOf(t, ctx, g, kbdByID); n != kbd {
		t.Errorf("%s -> %s, want %s", kbdByID, n, kbd)
	}
	if out, err := g.Run(ctx, "ls /dev/depotd/ | grep input-"); err == nil {
		t.Errorf("the shipped rules claimed keyboards of a vendor they do not list (QEMU 0627): %s", out)
	}

	// README.md, "Devices (udev)": for a vendor that is not listed, add its USB vendor id
	// to the matching rule, then reload and trigger.
	rules := string(firmwareconfig.UdevRules)
	for _, rule := range []string{`SUBSYSTEM=="input", KERNEL=="event*", SUBSYSTEMS=="usb", ATTRS{idVendor}=="`, `SUBSYSTEM=="hidraw", SUBSYSTEMS=="usb", ATTRS{idVendor}=="`} {
		if !strings.Contains(rules, rule) {
			t.Fatalf("99-depotd.rules has no rule %s... to add a vendor to", rule)
		}
		rules = strings.Replace(rules, rule, rule+"0627|", 1)
	}
	if err := g.WriteFile(ctx, guesttest.UdevChroot+"/etc/udev/rules.d/99-depotd.rules", []byte(rules)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, g, chroot("udevadm control --reload"))
	trigger(t, ctx, g, "--subsystem-match=input")
	trigger(t, ctx, g, "--subsystem-match=hidraw")
	for link, want := range map[string]string{"/dev/depotd/input-0627-0001-SCANNER1": kbd, "/dev/depotd/hidraw-0627-0001-SCANNER1": hidraw} {
		node, perm = nodeOf(t, ctx, g, link)
		if node != want || perm != fmt.Sprintf("%d 660", input) {
			t.Errorf("%s -> %s (gid, mode %s), want %s (%d 660: input)", link, node, perm, want, input)
		}
	}

	out := run(t, ctx, g, "depotd devices list --json")
	var list []struct {
		Class, Path, Device, Vendor, Product string
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("depotd devices list --json: %v\n%s", err, out)
	}
	want := map[string]string{byID: "serial " + tty + " 0403:6001", kbdByID: "input " + kbd + " 0627:0001"}
	for _, c := range list {
		if w, ok := want[c.Path]; ok {
			if got := c.Class + " " + c.Device + " " + c.Vendor + ":" + c.Product; got != w {
				t.Errorf("devices list: %s is %q, want %q", c.Path, got, w)
			}
			delete(want, c.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("devices list lacks %v:\n%s", want, out)
	}
}
