package station_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/barcode"
	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/station"
	"go.uber.org/goleak"
	"gopkg.in/yaml.v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is the depot of testdata/fixture.yaml.
type fixture struct {
	Locations []edge.Location      `yaml:"locations"`
	Stations  []station.Config     `yaml:"stations"`
	Settings  station.Settings     `yaml:"station_settings"`
	Master    station.MasterConfig `yaml:"master"`
}

func mustFixture(tb testing.TB) fixture {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "fixture.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var f fixture
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		tb.Fatal(err)
	}
	return f
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// depot is a journal and a station manager over the fixture, reopenable to simulate a
// restart of depotd.
type depot struct {
	tb   testing.TB
	f    fixture
	path string
	now  func() time.Time
	cat  *edge.Catalog
	// beeper, when set before open, is the stations' beeper lookup.
	beeper func(string) devices.Beeper
	dec    *barcode.Decoder
	ids    int
	J      *edge.Journal
	M      *station.Manager
}

func mustDepot(tb testing.TB, f fixture, c *clock) *depot {
	tb.Helper()
	return mustDepotNow(tb, f, c.Now)
}

// mustDepotNow is mustDepot on any clock (the end-to-end tests use real time, which the
// scale's readings carry).
func mustDepotNow(tb testing.TB, f fixture, now func() time.Time) *depot {
	tb.Helper()
	cat, err := edge.NewCatalog(f.Locations, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	cfg := barcode.DefaultConfig()
	dec, err := barcode.NewDecoder(cfg, barcode.WithNow(now))
	if err != nil {
		tb.Fatal(err)
	}
	d := &depot{tb: tb, f: f, path: filepath.Join(tb.TempDir(), "depotd.db"), now: now, cat: cat, dec: dec}
	d.open()
	tb.Cleanup(d.close)
	return d
}

func (d *depot) open() {
	d.tb.Helper()
	j, err := edge.Open(d.path, edge.Options{Depot: "D1", Catalog: d.cat, Now: d.now, Master: d.f.Master.Data()})
	if err != nil {
		d.tb.Fatal(err)
	}
	d.J = j
	m, err := station.New(station.Options{
		Stations: d.f.Stations, Settings: d.f.Settings, Master: d.f.Master, Decoder: d.dec,
		Catalog: d.cat, Journal: j, Documents: j, Now: d.now, Beeper: d.beeper,
		NewID: func(name string, _ time.Time) string {
			d.ids++
			return name + "-doc" + itoa(d.ids)
		},
	})
	if err != nil {
		d.tb.Fatal(err)
	}
	d.M = m
}

func (d *depot) close() {
	if d.J == nil {
		return
	}
	if probs := d.J.Check(); len(probs) > 0 {
		d.tb.Errorf("journal check: %v", probs)
	}
	if err := d.J.Close(); err != nil {
		d.tb.Errorf("close journal: %v", err)
	}
	d.J, d.M = nil, nil
}

func (d *depot) restart() {
	d.close()
	d.open()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
