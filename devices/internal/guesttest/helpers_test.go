package guesttest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/internal/guesttest"
)

// within gives a test step its deadline: generous, since TCG on a loaded 2-core box is
// slow, but bounded so a broken guest fails instead of hanging.
func within(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, ctx context.Context, g *guesttest.Guest, cmd string) string {
	t.Helper()
	out, err := g.Run(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitGuest polls a shell command in the guest until it succeeds and returns its output.
func waitGuest(t *testing.T, ctx context.Context, g *guesttest.Guest, what, cmd string) string {
	t.Helper()
	for {
		out, err := g.Run(ctx, cmd)
		if err == nil {
			return strings.TrimSpace(out)
		}
		if !errors.Is(err, guesttest.ErrExit) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v (last: %s)", what, ctx.Err(), out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// usbNode is the node in devDir of class (input: event*, tty: ttyUSB*) that belongs to the USB
// device whose serial number (QEMU's serial= property) is serial. No udev runs here, so
// sysfs is walked: node -> its device -> up to the USB device that has the serial file.
func usbNode(t *testing.T, ctx context.Context, g *guesttest.Guest, class, pattern, devDir, serial string) string {
	t.Helper()
	cmd := fmt.Sprintf(`for n in /sys/class/%s/%s; do d=$(readlink -f $n/device); while [ -n "$d" ] && [ ! -f $d/serial ]; do d=${d%%/*}; done; [ "$(cat $d/serial 2>/dev/null)" = %q ] && echo %s/${n##*/} && exit 0; done; exit 1`, class, pattern, serial, devDir)
	return waitGuest(t, ctx, g, class+" node of USB serial "+serial, cmd)
}

// event is one line of `depotd devices watch`.
type event struct {
	Event  string    `json:"event"`
	Device string    `json:"device"`
	At     time.Time `json:"at"`
	AIM    string    `json:"aim"`
	Data   string    `json:"data"`
	RawHex string    `json:"raw_hex"`
	Reason string    `json:"reason"`
	State  string    `json:"state"`
	Value  string    `json:"value"`
	Unit   string    `json:"unit"`
	Stable bool      `json:"stable"`
	Status string    `json:"status"`
}

// watch is depotd devices watch running in the guest, its output in a file.
type watch struct {
	g    *guesttest.Guest
	name string
}

// startWatch runs depotd in the guest on a config holding devicesYAML (the `devices:`
// list) and stops it when the test ends.
func startWatch(t *testing.T, ctx context.Context, g *guesttest.Guest, name, devicesYAML string) *watch {
	t.Helper()
	cfg := "depot:\n  id: guest\ndevices:\n" + devicesYAML
	if err := g.WriteFile(ctx, "/tmp/"+name+".yaml", []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, g, fmt.Sprintf("depotd devices watch --config /tmp/%[1]s.yaml >/tmp/%[1]s.out 2>/tmp/%[1]s.err & echo $! >/tmp/%[1]s.pid", name))
	w := &watch{g: g, name: name}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		w.stop(t, ctx)
	})
	return w
}

// stop ends depotd (SIGTERM, as systemd would) and waits until it is gone.
func (w *watch) stop(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := w.g.Run(ctx, fmt.Sprintf("kill $(cat /tmp/%s.pid)", w.name)); err != nil {
		return // already stopped
	}
	waitGuest(t, ctx, w.g, "depotd to stop", fmt.Sprintf("! kill -0 $(cat /tmp/%s.pid) 2>/dev/null", w.name))
	if t.Failed() {
		errOut, _ := w.g.Run(ctx, fmt.Sprintf("cat /tmp/%s.err", w.name))
		t.Logf("depotd stderr:\n%s", errOut)
	}
}

// events is everything depotd printed so far.
func (w *watch) events(t *testing.T, ctx context.Context, what string) []event {
	t.Helper()
	out, err := w.g.Run(ctx, fmt.Sprintf("cat /tmp/%s.out", w.name))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	var evs []event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("depotd printed %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// waitFor polls depotd's output until ok says yes to the events so far and returns them.
func (w *watch) waitFor(t *testing.T, ctx context.Context, what string, ok func([]event) bool) []event {
	t.Helper()
	for {
		evs := w.events(t, ctx, what)
		if ok(evs) {
			return evs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; depotd printed %+v", what, ctx.Err(), evs)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func only(evs []event, kind string) []event {
	var out []event
	for _, e := range evs {
		if e.Event == kind {
			out = append(out, e)
		}
	}
	return out
}

// lastState is the device's latest state, "" before the first.
func lastState(evs []event) string {
	st := ""
	for _, e := range evs {
		if e.Event == "state" {
			st = e.State
		}
	}
	return st
}

func countState(evs []event, state string) int {
	n := 0
	for _, e := range evs {
		if e.Event == "state" && e.State == state {
			n++
		}
	}
	return n
}

func scansOf(evs []event) []string {
	var out []string
	for _, e := range only(evs, "scan") {
		out = append(out, e.AIM+e.Data)
	}
	return out
}

func quote(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}
