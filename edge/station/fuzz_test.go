package station_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/edge/station"
)

// scriptScans returns every scanned payload of the golden scripts: the fuzzer's seeds, so
// that it starts from the sessions the stations are known to handle.
func scriptScans(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		script, _, _ := strings.Cut(string(raw), wantMarker+"\n")
		for _, line := range strings.Split(script, "\n") {
			if arg, ok := strings.CutPrefix(line, "scan "); ok {
				if s, err := strconv.Unquote(`"` + arg + `"`); err == nil {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// FuzzStationScans feeds arbitrary scan sequences (split at '\n') to a logged-in station.
// Every scan must get exactly one well-formed event, nothing may panic, and whatever was
// committed must leave the journal consistent (checked when the depot closes).
func FuzzStationScans(f *testing.F) {
	seeds := scriptScans(f)
	f.Add([]byte(strings.Join(seeds, "\n")))
	for i := 0; i+4 <= len(seeds); i += 4 {
		f.Add([]byte(strings.Join(seeds[i:i+4], "\n")))
	}
	f.Add([]byte("CMD:TRANSFER\nLOC-STOCK\n4006381333931\nLOC-A\nCMD:VALIDATE"))
	f.Add([]byte("]C1\x1d\x1d\nQTY:0.5\nREF:\xff\nOP:\x00"))
	fx := mustFixture(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		d := mustDepot(t, fx, newClock())
		ctx := context.Background()
		for _, dev := range []string{"sc-dock", "sc-yard"} {
			if ev, _ := d.M.Apply(ctx, devices.Scan{Device: dev, Raw: []byte("OP:alice"), Data: []byte("OP:alice")}); ev.Result != station.Accepted {
				t.Fatalf("login: %+v", ev)
			}
		}
		d.M.Weight(devices.Weight{Device: "sw-dock", At: d.now(), Stable: true, Status: devices.WeightOK})
		for i, part := range bytes.Split(in, []byte("\n")) {
			dev := "sc-dock"
			if i%3 == 2 {
				dev = "sc-yard"
			}
			sc := devices.Scan{Device: dev, Raw: part, Data: part}
			if len(part) >= 3 && part[0] == ']' {
				sc.AIM, sc.Data = string(part[:3]), part[3:]
			}
			ev, err := d.M.Apply(ctx, sc)
			if err != nil {
				t.Fatal(err)
			}
			switch ev.Result {
			case station.Accepted, station.Prompt, station.Refused:
			default:
				t.Fatalf("scan %q: result %q", part, ev.Result)
			}
			if ev.Message == "" {
				t.Fatalf("scan %q: no message", part)
			}
			if strings.ContainsAny(ev.Scan, "\x00\x1d\r\n") {
				t.Fatalf("scan shown with control bytes: %q", ev.Scan)
			}
		}
		d.restart()
	})
}
