package guesttest_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices/internal/guesttest"
)

// One guest serves the whole test binary: booting takes most of a test's time under TCG.
var shared struct {
	once sync.Once
	g    *guesttest.Guest
	err  error
	dir  string
	// udev is Debian's udev in the guest, for the udev rules' test only: without
	// mmdebstrap the other tests still run.
	udev    *guesttest.UdevRoot
	udevErr error
}

// bootDevices are plugged in from boot: the scanner under test ("kbd") and a second
// keyboard standing in for the operator's console keyboard. QMP's input-send-event
// addresses a keyboard through the display it is bound to, so each gets a display of
// its own (no display backend runs: they only route the input).
var bootDevices = []string{
	"bochs-display,id=scanner-head",
	"bochs-display,id=console-head",
	"usb-kbd,id=kbd,bus=xhci.0,port=1,serial=SCANNER1,display=scanner-head",
	"usb-kbd,id=console-kbd,bus=xhci.0,port=2,serial=CONSOLE1,display=console-head",
}

func guest(t *testing.T) *guesttest.Guest {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "guest")
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if cache, err := guesttest.CacheDir(); err != nil {
			shared.udevErr = err
		} else {
			shared.udev, shared.udevErr = guesttest.FetchUdevRoot(ctx, cache)
		}
		shared.g, shared.err = guesttest.Start(ctx, shared.dir, shared.udev, bootDevices...)
		if shared.err == nil {
			fmt.Fprintf(os.Stderr, "guest booted in %s\n", shared.g.BootTime.Round(10*time.Millisecond))
		}
	})
	guesttest.Require(t, shared.err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("guest console:\n%s", shared.g.ConsoleTail())
		}
	})
	return shared.g
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.g != nil {
		shared.g.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
