package station_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
	"github.com/shopspring/decimal"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt")

// wantMarker separates a script from its expected output.
const wantMarker = "-- want --"

// TestGolden runs every scripted station session in testdata/*.txt and compares the
// feedback, the committed transactions and the unresolved scans with the expected output
// below the script's "-- want --" line (go test -update rewrites it).
//
// Script lines (the station is "dock" until a `station` line):
//
//	station NAME              later scans and weights go to this station
//	scan DATA                 a scan; DATA is Go-quoted-string syntax without quotes (\x1d is
//	                          GS); a leading AIM identifier (]C1, ]E0...) is split off as the
//	                          driver does
//	bad HEX REASON            a frame the driver refused
//	weight KG [stable|motion|overload]   a reading from the station's scale
//	advance DURATION          moves the clock
//	restart                   closes and reopens the journal and the stations (depotd restart)
//	post JSON                 commits a transaction directly (setting up stock)
//	stock ITEM                prints the item's ledger rows
//	snapshot                  prints the station's status as the API shows it
//	# ...                     a comment, echoed
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden scripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			script, want, _ := strings.Cut(string(raw), wantMarker+"\n")
			got := runScript(t, script)
			if *update {
				if err := os.WriteFile(file, []byte(script+wantMarker+"\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != want {
				t.Errorf("output differs from %s (go test -update to accept):\n%s", file, diff(want, got))
			}
		})
	}
}

func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func runScript(t *testing.T, script string) string {
	t.Helper()
	c := newClock()
	d := mustDepot(t, mustFixture(t), c)
	ctx := context.Background()
	var out strings.Builder
	cur := d.f.Stations[0]
	lastExc := uint64(0)
	for n, line := range strings.Split(strings.TrimRight(script, "\n"), "\n") {
		fail := func(format string, a ...any) {
			t.Fatalf("script line %d %q: %s", n+1, line, fmt.Sprintf(format, a...))
		}
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		out.WriteString("> " + line + "\n")
		c.Advance(time.Second)
		switch verb {
		case "station":
			found := false
			for _, s := range d.f.Stations {
				if s.Name == arg {
					cur, found = s, true
				}
			}
			if !found {
				fail("no such station")
			}
		case "scan":
			data, err := strconv.Unquote(`"` + arg + `"`)
			if err != nil {
				fail("bad data: %v", err)
			}
			sc := devices.Scan{Device: cur.Scanner, At: c.Now(), Raw: []byte(data), Data: []byte(data)}
			if len(data) >= 3 && data[0] == ']' {
				sc.AIM, sc.Data = data[:3], []byte(data[3:])
			}
			ev, err := d.M.Apply(ctx, sc)
			if err != nil {
				fail("%v", err)
			}
			writeEvent(t, &out, d, ev)
		case "bad":
			hx, reason, _ := strings.Cut(arg, " ")
			b, err := hex.DecodeString(hx)
			if err != nil {
				fail("bad hex: %v", err)
			}
			d.M.BadScan(devices.BadScan{Device: cur.Scanner, At: c.Now(), Raw: b, Reason: reason})
			st, _ := d.M.Station(cur.Name)
			fmt.Fprintf(&out, "  %s: %s\n", st.Last.Result, st.Last.Message)
		case "weight":
			f := strings.Fields(arg)
			kg, err := decimal.NewFromString(f[0])
			if err != nil {
				fail("bad weight: %v", err)
			}
			w := devices.Weight{Device: cur.Scale, At: c.Now(), Value: kg, Unit: "kg", Kg: kg, Stable: true, Status: devices.WeightOK}
			for _, flag := range f[1:] {
				switch flag {
				case "stable":
				case "motion":
					w.Stable, w.Status = false, devices.WeightMotion
				case "overload":
					w.Status = devices.WeightOverload
				default:
					fail("unknown weight flag %q", flag)
				}
			}
			d.M.Weight(w)
		case "advance":
			dur, err := time.ParseDuration(arg)
			if err != nil {
				fail("%v", err)
			}
			c.Advance(dur)
		case "restart":
			d.restart()
		case "post":
			var tx edge.Transaction
			if err := json.Unmarshal([]byte(arg), &tx); err != nil {
				fail("%v", err)
			}
			got, _, err := d.J.Commit(ctx, tx)
			if err != nil {
				fail("%v", err)
			}
			fmt.Fprintf(&out, "  committed seq %d\n", got.Seq)
		case "stock":
			rows, err := d.J.Stock(edge.StockFilter{Item: arg})
			if err != nil {
				fail("%v", err)
			}
			for _, r := range rows {
				fmt.Fprintf(&out, "  %s @ %s lot=%q %s: %s\n", r.Item, r.Location, r.Lot, r.State, r.Qty)
			}
		case "snapshot":
			st, err := d.M.Station(cur.Name)
			if err != nil {
				fail("%v", err)
			}
			raw, _ := json.Marshal(st)
			fmt.Fprintf(&out, "  %s\n", raw)
		default:
			fail("unknown verb %q", verb)
		}
		// Every unresolved scan recorded by this step.
		excs, err := d.J.Exceptions(false, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i := len(excs) - 1; i >= 0; i-- {
			e := excs[i]
			if e.ID <= lastExc {
				continue
			}
			lastExc = e.ID
			fmt.Fprintf(&out, "  exception #%d %s station=%s device=%s raw=%x code=%q: %s\n", e.ID, e.Kind, e.Station, e.Device, e.Raw, e.Code, e.Message)
		}
	}
	return out.String()
}

func writeEvent(t *testing.T, out *strings.Builder, d *depot, ev station.Event) {
	t.Helper()
	fmt.Fprintf(out, "  %s: %s\n", ev.Result, ev.Message)
	if ev.Seq == 0 {
		return
	}
	tx, err := d.J.Get(ev.Seq)
	if err != nil {
		t.Fatal(err)
	}
	n := len(tx.Scans)
	tx.Scans = nil
	raw, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(out, "  tx %s (+%d scans)\n", raw, n)
}
