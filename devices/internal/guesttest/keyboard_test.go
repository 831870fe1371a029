package guesttest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/internal/guesttest"
)

// A scanner in keyboard mode presses key positions; QEMU's input-send-event takes them as
// QEMU key codes (qcodes), which are named after the US position of the key. The tables
// below are written from the layouts themselves, not from devices/evdev's tables, so a
// wrong table there shows here.
type stroke struct {
	mods []string // held while key is pressed
	key  string
}

// typist says which keys a scanner set to a layout presses for each character of a scan.
type typist func(r rune) (stroke, bool)

func usKeys(r rune) (stroke, bool) {
	switch {
	case r >= '1' && r <= '9', r == '0':
		return stroke{key: string(r)}, true
	case r >= 'A' && r <= 'Z':
		return stroke{mods: []string{"shift"}, key: strings.ToLower(string(r))}, true
	case r == ']':
		return stroke{key: "bracket_right"}, true
	}
	return stroke{}, false
}

// deKeys: QWERTZ. Y and Z trade places; ] is AltGr+9.
func deKeys(r rune) (stroke, bool) {
	switch {
	case r == 'Z':
		return stroke{mods: []string{"shift"}, key: "y"}, true
	case r == 'Y':
		return stroke{mods: []string{"shift"}, key: "z"}, true
	case r == ']':
		return stroke{mods: []string{"alt_r"}, key: "9"}, true
	}
	return usKeys(r)
}

// frKeys: AZERTY. Digits need Shift; A/Q and Z/W trade places, M sits right of L; ] is
// AltGr on the key right of 0 (the US minus).
func frKeys(r rune) (stroke, bool) {
	swap := map[rune]string{'A': "q", 'Q': "a", 'Z': "w", 'W': "z", 'M': "semicolon"}
	switch {
	case r >= '0' && r <= '9':
		return stroke{mods: []string{"shift"}, key: string(r)}, true
	case swap[r] != "":
		return stroke{mods: []string{"shift"}, key: swap[r]}, true
	case r == ']':
		return stroke{mods: []string{"alt_r"}, key: "minus"}, true
	}
	return usKeys(r)
}

// How a scanner sends GS (FNC1) through a keyboard (reference §2.2).
var (
	gsCtrl    = []stroke{{mods: []string{"ctrl"}, key: "bracket_right"}} // control-character emulation
	gsAltCode = []stroke{{mods: []string{"alt"}, key: "kp_0"}, {mods: []string{"alt"}, key: "kp_2"}, {mods: []string{"alt"}, key: "kp_9"}}
)

// keyGap paces the keystrokes as a scanner's inter-character delay does: QEMU's USB
// keyboard queues 16 key events, and the guest polls it only every few milliseconds
// (slower under TCG), so a burst faster than that would overflow the queue.
const keyGap = 25 * time.Millisecond

func keyEvent(key string, down bool) map[string]any {
	return map[string]any{"type": "key", "data": map[string]any{"down": down, "key": map[string]any{"type": "qcode", "data": key}}}
}

// press sends strokes to the keyboard bound to the display dev: modifiers down, key down and up,
// modifiers up. Alt-code digits share one Alt press, as a scanner holds Alt over all three.
func press(ctx context.Context, g *guesttest.Guest, dev string, strokes ...stroke) error {
	send := func(evs ...map[string]any) error {
		_, err := g.QMP.Execute(ctx, "input-send-event", map[string]any{"device": dev, "events": evs})
		if err == nil {
			select {
			case <-time.After(keyGap):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return err
	}
	var held []string
	release := func() error {
		for i := len(held) - 1; i >= 0; i-- {
			if err := send(keyEvent(held[i], false)); err != nil {
				return err
			}
		}
		held = nil
		return nil
	}
	for _, s := range strokes {
		if strings.Join(s.mods, " ") != strings.Join(held, " ") {
			if err := release(); err != nil {
				return err
			}
			for _, m := range s.mods {
				if err := send(keyEvent(m, true)); err != nil {
					return err
				}
			}
			held = s.mods
		}
		if err := send(keyEvent(s.key, true)); err != nil {
			return err
		}
		if err := send(keyEvent(s.key, false)); err != nil {
			return err
		}
	}
	return release()
}

// typeWithGS types scan as a scanner set to the layout of keys would: each character,
// the gs sequence wherever the data holds GS, then Enter.
func typeWithGS(t *testing.T, ctx context.Context, g *guesttest.Guest, dev string, keys typist, gs []stroke, scan string) {
	t.Helper()
	parts := strings.Split(scan, "\x1d")
	for i, p := range parts {
		if p != "" {
			typeScanPart(t, ctx, g, dev, keys, p)
		}
		if i < len(parts)-1 {
			if err := press(ctx, g, dev, gs...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := press(ctx, g, dev, stroke{key: "ret"}); err != nil {
		t.Fatal(err)
	}
}

func typeScanPart(t *testing.T, ctx context.Context, g *guesttest.Guest, dev string, keys typist, s string) {
	t.Helper()
	for _, r := range s {
		st, ok := keys(r)
		if !ok {
			t.Fatalf("no key for %q in the test's layout table", r)
		}
		if err := press(ctx, g, dev, st); err != nil {
			t.Fatal(err)
		}
	}
}

func wedgeConfig(node, layout string) string {
	return fmt.Sprintf("  - name: wedge\n    kind: scanner\n    port: %s\n    layout: %s\n", node, layout)
}

// TestAWedgeScannerTypedIntoAUSBKeyboardReachesDepotdInItsLayout types GS1-128 scans
// into the guest's USB keyboard as a scanner set to US, DE and FR would, GS sent both as
// Ctrl+] and as Alt+029 on the keypad, and expects depotd (evdev, grabbed) to print each
// scan exactly, once.
func TestAWedgeScannerTypedIntoAUSBKeyboardReachesDepotdInItsLayout(t *testing.T) {
	g := guest(t)
	node := usbNode(t, within(t, time.Minute), g, "input", "event*", "/dev/input", "SCANNER1")
	for _, tc := range []struct {
		layout string
		keys   typist
		scans  []string // AIM id + data, GS as \x1d
	}{
		{"us", usKeys, []string{"]C10109501101530003\x1d10LOTQAZWYM7", "]C1010950110153000310AB12\x1d21XY9"}},
		{"de", deKeys, []string{"]C10109501101530003\x1d10ZY7", "]C1010950110153000310YZ\x1d21ZZ9"}},
		{"fr", frKeys, []string{"]C10109501101530003\x1d10AQZWM7", "]C1010950110153000310MAQ\x1d21WZ0"}},
	} {
		t.Run(tc.layout, func(t *testing.T) {
			ctx := within(t, 2*time.Minute)
			w := startWatch(t, ctx, g, "wedge-"+tc.layout, wedgeConfig(node, tc.layout))
			w.waitFor(t, ctx, "the scanner connected", func(e []event) bool { return lastState(e) == "connected" })
			typeWithGS(t, ctx, g, "scanner-head", tc.keys, gsCtrl, tc.scans[0])
			typeWithGS(t, ctx, g, "scanner-head", tc.keys, gsAltCode, tc.scans[1])
			evs := w.waitFor(t, ctx, "two scans", func(e []event) bool { return len(only(e, "scan"))+len(only(e, "bad_scan")) >= 2 })
			if bad := only(evs, "bad_scan"); len(bad) > 0 {
				t.Fatalf("refused: %+v", bad)
			}
			if got := scansOf(evs); quote(got) != quote(tc.scans) {
				t.Fatalf("scans %s, want %s (Ctrl+] then Alt+029 for GS)", quote(got), quote(tc.scans))
			}
		})
	}
}

// reader is a second program reading an event node (cat into a file), as a console or
// desktop session would.
type reader struct{ file, pid string }

func startReader(t *testing.T, ctx context.Context, g *guesttest.Guest, name, node string) reader {
	t.Helper()
	r := reader{file: "/tmp/" + name + ".bin", pid: "/tmp/" + name + ".pid"}
	run(t, ctx, g, fmt.Sprintf("cat %s >%s & echo $! >%s", node, r.file, r.pid))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = g.Run(ctx, "kill $(cat "+r.pid+")") // gone already when the test killed it
	})
	return r
}

func (r reader) size(t *testing.T, ctx context.Context, g *guesttest.Guest) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, g, "wc -c <"+r.file))
}

// TestNoOtherReaderSeesTheScannerWhileDepotdHoldsTheGrab: while depotd reads the scanner
// (EVIOCGRAB), a second reader of the same event node gets nothing of a scan, and the
// console keyboard still types to its readers.
func TestNoOtherReaderSeesTheScannerWhileDepotdHoldsTheGrab(t *testing.T) {
	g := guest(t)
	ctx := within(t, 2*time.Minute)
	node := usbNode(t, ctx, g, "input", "event*", "/dev/input", "SCANNER1")
	consoleNode := usbNode(t, ctx, g, "input", "event*", "/dev/input", "CONSOLE1")

	// The reader works: with nobody grabbing, it sees a keystroke of the scanner.
	pre := startReader(t, ctx, g, "ungrabbed", node)
	typeWithGS(t, ctx, g, "scanner-head", usKeys, nil, "1")
	waitGuest(t, ctx, g, "the ungrabbed reader to see the keystroke", "[ $(wc -c <"+pre.file+") -gt 0 ]")
	run(t, ctx, g, "kill $(cat "+pre.pid+")")

	w := startWatch(t, ctx, g, "grab", wedgeConfig(node, "us"))
	w.waitFor(t, ctx, "the scanner connected", func(e []event) bool { return lastState(e) == "connected" })
	other := startReader(t, ctx, g, "other", node)
	console := startReader(t, ctx, g, "console", consoleNode)

	scan := "]C10109501101530003\x1d10LOT7"
	typeWithGS(t, ctx, g, "scanner-head", usKeys, gsCtrl, scan)
	evs := w.waitFor(t, ctx, "the scan", func(e []event) bool { return len(only(e, "scan")) >= 1 })
	if got := scansOf(evs); quote(got) != quote([]string{scan}) {
		t.Fatalf("depotd got %s, want %q", quote(got), scan)
	}
	// The console keyboard is not grabbed: its reader sees its keys. By the time it has,
	// the scan's events have long reached every reader they were delivered to.
	typeWithGS(t, ctx, g, "console-head", usKeys, nil, "2")
	waitGuest(t, ctx, g, "the console keyboard's reader to see its key", "[ $(wc -c <"+console.file+") -gt 0 ]")
	if n := other.size(t, ctx, g); n != "0" {
		t.Fatalf("a second reader of %s got %s bytes of events while depotd held the grab", node, n)
	}
}
