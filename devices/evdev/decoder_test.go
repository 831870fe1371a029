package evdev_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/evdev"
	"github.com/depotd/depotd/devices/serialscan"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz corpus files from the recordings")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type wantFrame struct {
	AIM  string `json:"aim"`
	Data string `json:"data"`
	Bad  string `json:"bad"`
}

type recording struct {
	name         string
	stream       []byte
	Layout       string      `json:"layout"`
	GSSubstitute string      `json:"gs_substitute"`
	EventSize    int         `json:"event_size"`
	Frames       []wantFrame `json:"frames"`
}

// recordings loads testdata/*.evdev with their .json cases (written by gen_recordings.go).
func recordings(tb testing.TB) []recording {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.evdev"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no recordings: %v", err)
	}
	var out []recording
	for _, p := range paths {
		var r recording
		r.name = strings.TrimSuffix(filepath.Base(p), ".evdev")
		j, err := os.ReadFile(strings.TrimSuffix(p, ".evdev") + ".json")
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(j, &r); err != nil {
			tb.Fatal(err)
		}
		if r.stream, err = os.ReadFile(p); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func layoutOf(tb testing.TB, name string) *evdev.Layout {
	tb.Helper()
	l, err := evdev.LayoutByName(name)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

func optionsOf(r recording) evdev.Options {
	var sub rune
	if r.GSSubstitute != "" {
		sub = []rune(r.GSSubstitute)[0]
	}
	return evdev.Options{GSSubstitute: sub}
}

func decodeAll(l *evdev.Layout, opts evdev.Options, stream []byte, size int) []serialscan.Frame {
	d := evdev.NewDecoder(l, opts)
	var out []serialscan.Frame
	for off := 0; off+size <= len(stream); off += size {
		if f, ok := d.Event(evdev.ParseEvent(stream[off:], size)); ok {
			out = append(out, f)
		}
	}
	return out
}

func checkFrames(t *testing.T, got []serialscan.Frame, want []wantFrame) {
	t.Helper()
	if len(got) != len(want) {
		for _, g := range got {
			t.Logf("got {%q %q %v}", g.AIM, g.Data, g.Err)
		}
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if w.Bad != "" {
			if g.Err == nil || !strings.Contains(g.Err.Error(), w.Bad) {
				t.Errorf("frame %d: err %v, want one containing %q", i, g.Err, w.Bad)
			}
			continue
		}
		if g.Err != nil || g.AIM != w.AIM || string(g.Data) != w.Data {
			t.Errorf("frame %d = {%q %q %v}, want {%q %q}", i, g.AIM, g.Data, g.Err, w.AIM, w.Data)
		}
	}
}

// TestRecordings decodes every recorded stream (us, us_arm32, de, fr, fr_gs_substitute).
func TestRecordings(t *testing.T) {
	for _, r := range recordings(t) {
		t.Run(r.name, func(t *testing.T) {
			if len(r.stream)%r.EventSize != 0 {
				t.Fatalf("%d bytes is not a whole number of %d-byte events", len(r.stream), r.EventSize)
			}
			checkFrames(t, decodeAll(layoutOf(t, r.Layout), optionsOf(r), r.stream, r.EventSize), r.Frames)
		})
	}
}

// TestRecordingInWrongLayout: the DE recording decoded as US swaps Y and Z and loses the
// AltGr characters — the reason the config names the layout.
func TestRecordingInWrongLayout(t *testing.T) {
	for _, r := range recordings(t) {
		if r.name != "de" {
			continue
		}
		got := decodeAll(evdev.US, evdev.Options{}, r.stream, r.EventSize)
		if len(got) == 0 || got[0].Err == nil && string(got[0].Data) == r.Frames[0].Data {
			t.Fatalf("DE stream decoded as US gave the DE result: %+v", got)
		}
	}
}

func TestParseEventLayouts(t *testing.T) {
	e := evdev.Event{Sec: 1764000000, Usec: 123456, Type: evdev.EvKey, Code: 46, Value: evdev.KeyPress}
	for _, size := range []int{24, 16} {
		b := evdev.AppendEvent(nil, e, size)
		if len(b) != size {
			t.Fatalf("size %d: encoded %d bytes", size, len(b))
		}
		if got := evdev.ParseEvent(b, size); got != e {
			t.Errorf("size %d: %+v", size, got)
		}
	}
	// The offsets from the reference: type @16, code @18, value @20 on 64-bit.
	b := evdev.AppendEvent(nil, e, 24)
	if b[16] != 1 || b[18] != 46 || b[20] != 1 {
		t.Errorf("64-bit layout % x", b)
	}
	if evdev.EventSize != 24 && evdev.EventSize != 16 {
		t.Errorf("EventSize %d", evdev.EventSize)
	}
}

// key scripts for edge cases: each step is (code, value).
type step struct {
	code  uint16
	value int32
}

func tap(code uint16, mods ...uint16) []step {
	var s []step
	for _, m := range mods {
		s = append(s, step{m, 1})
	}
	s = append(s, step{code, 1}, step{code, 0})
	for i := len(mods) - 1; i >= 0; i-- {
		s = append(s, step{mods[i], 0})
	}
	return s
}

func script(parts ...[]step) []byte {
	var b []byte
	for _, p := range parts {
		for _, s := range p {
			b = evdev.AppendEvent(b, evdev.Event{Type: evdev.EvKey, Code: s.code, Value: s.value}, 24)
			b = evdev.AppendEvent(b, evdev.Event{Type: evdev.EvSyn}, 24)
		}
	}
	return b
}

const shift, ctrl, lalt, altgr, enter = 42, 29, 56, 100, 28

var edgeCases = []struct {
	name   string
	layout string
	max    int
	stream []byte
	want   []wantFrame
}{
	{"shift_released_midway", "us", 0, script(tap(30, shift), tap(30), tap(30, 54), tap(enter)), []wantFrame{{Data: "AaA"}}},
	{"repeat_ignored", "us", 0, script([]step{{2, 1}, {2, 2}, {2, 2}, {2, 0}}, tap(enter)), []wantFrame{{Data: "1"}}},
	{"release_without_press", "us", 0, script([]step{{30, 0}, {31, 0}}, tap(32), tap(enter)), []wantFrame{{Data: "d"}}},
	{"dead_twice_gives_accent", "fr", 0, script(tap(26), tap(26), tap(enter)), []wantFrame{{Data: "^"}}},
	{"dead_then_letter_kept_both", "fr", 0, script(tap(26), tap(18), tap(enter)), []wantFrame{{Data: "^e"}}},
	{"dead_at_enter", "de", 0, script(tap(2), tap(41), tap(enter)), []wantFrame{{Data: "1^"}}},
	{"alt_code_over_255", "us", 0, script([]step{{lalt, 1}}, tap(80), tap(81), tap(81), tap(71), []step{{lalt, 0}}, tap(enter)), []wantFrame{{Bad: "key not in layout"}}},
	{"alt_letter_refused", "us", 0, script(tap(30, lalt), tap(enter)), []wantFrame{{Bad: "key not in layout: code 30"}}},
	{"right_ctrl_gs", "de", 0, script(tap(2), tap(27, 97), tap(3), tap(enter)), []wantFrame{{Data: "1\x1d2"}}},
	{"altgr_unmapped_level", "us", 0, script(tap(30, altgr), tap(enter)), []wantFrame{{Bad: "key not in layout"}}},
	{"max_length", "us", 3, script(tap(2), tap(3), tap(4), tap(5), tap(6), tap(7), tap(8), tap(enter), tap(2), tap(enter)),
		[]wantFrame{{Bad: "frame too long"}, {Data: "1"}}},
	{"empty_lines", "us", 0, script(tap(enter), tap(96), tap(enter)), nil},
	{"tab_unmapped", "us", 0, script(tap(2), tap(15), tap(enter)), []wantFrame{{Bad: "code 15"}}},
}

func TestDecoderEdgeCases(t *testing.T) {
	for _, c := range edgeCases {
		t.Run(c.name, func(t *testing.T) {
			opts := evdev.Options{Framing: serialscan.Framing{MaxLength: c.max}}
			checkFrames(t, decodeAll(layoutOf(t, c.layout), opts, c.stream, 24), c.want)
		})
	}
}

func TestDecoderReset(t *testing.T) {
	d := evdev.NewDecoder(evdev.US, evdev.Options{})
	for _, s := range []step{{shift, 1}, {30, 1}} {
		d.Event(evdev.Event{Type: evdev.EvKey, Code: s.code, Value: s.value})
	}
	d.Reset() // device vanished with Shift held and "A" typed
	d.Event(evdev.Event{Type: evdev.EvKey, Code: 30, Value: 1})
	f, ok := d.Event(evdev.Event{Type: evdev.EvKey, Code: enter, Value: 1})
	if !ok || string(f.Data) != "a" {
		t.Fatalf("after reset: %q %v", f.Data, ok)
	}
}

func TestLayoutByName(t *testing.T) {
	for _, n := range []string{"", "us", "DE", "fr"} {
		if _, err := evdev.LayoutByName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	if _, err := evdev.LayoutByName("dvorak"); err == nil {
		t.Error("dvorak accepted")
	}
}

func TestCheckConfig(t *testing.T) {
	var keys []string
	c := devices.Config{Layout: "dvorak", GSSubstitute: "ab", Baud: 9600, Suffix: "cr", MaxLength: -1, GoodBeep: "x", PollInterval: time.Second}
	evdev.CheckConfig(&c, "devices[3]", func(key, _ string) { keys = append(keys, key) })
	got := strings.Join(keys, " ")
	for _, k := range []string{"layout", "gs_substitute", "baud", "suffix", "max_length", "good_beep", "poll_interval"} {
		if !strings.Contains(got, "devices[3]."+k) {
			t.Errorf("no report for %s in %v", k, keys)
		}
	}
	keys = nil
	ok := devices.Config{Layout: "fr", GSSubstitute: "*", Prefix: `\x02`}
	evdev.CheckConfig(&ok, "devices[0]", func(key, _ string) { keys = append(keys, key) })
	if len(keys) != 0 {
		t.Errorf("good config: %v", keys)
	}
}

// sink records what a driver delivers.
type sink struct {
	mu    sync.Mutex
	scans []devices.Scan
	bad   []devices.BadScan
}

func (s *sink) Scan(v devices.Scan)       { s.mu.Lock(); s.scans = append(s.scans, v); s.mu.Unlock() }
func (s *sink) BadScan(v devices.BadScan) { s.mu.Lock(); s.bad = append(s.bad, v); s.mu.Unlock() }
func (s *sink) Weight(devices.Weight)     {}
func (s *sink) State(devices.DeviceState) {}

// TestDriverRunNotAnEventDevice: EVIOCGRAB on something that is not an input device
// fails, and Run says so without delivering anything.
func TestDriverRunNotAnEventDevice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "usb-Fake-event-kbd")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := evdev.New(devices.Config{Name: "w", Kind: devices.KindScanner, Port: p}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	err = d.Run(context.Background(), &sink{})
	if err == nil || !strings.Contains(err.Error(), "grab "+p) {
		t.Fatalf("Run on a regular file: %v", err)
	}
	_, err = evdev.New(devices.Config{Name: "w", Kind: devices.KindScanner, Port: p, Layout: "xx"}, slog.New(slog.DiscardHandler))
	if err == nil {
		t.Fatal("New accepted layout xx")
	}
	d, _ = evdev.New(devices.Config{Name: "w", Kind: devices.KindScanner, Port: filepath.Join(t.TempDir(), "gone")}, slog.New(slog.DiscardHandler))
	if err := d.Run(context.Background(), &sink{}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Run on a missing node: %v", err)
	}
}

// seedChunk is how many events of a recording make one fuzz seed: the fuzzer slows to a
// crawl on inputs of many kilobytes, and 48 events still span several keystrokes with
// their modifiers.
const seedChunk = 48

type seed struct {
	name   string
	layout byte
	arm32  bool
	stream []byte
}

// seeds cuts every recording into chunks, each seeded with the recording's layout.
func seeds(tb testing.TB) []seed {
	index := map[string]byte{"us": 0, "de": 1, "fr": 2}
	var out []seed
	for _, r := range recordings(tb) {
		n := seedChunk * r.EventSize
		for i := 0; i*n < len(r.stream); i++ {
			out = append(out, seed{fmt.Sprintf("%s_%02d", r.name, i), index[r.Layout], r.EventSize == 16,
				r.stream[i*n : min((i+1)*n, len(r.stream))]})
		}
	}
	return out
}

// FuzzDecoder feeds arbitrary bytes as input_event records in each layout. Seeds are
// the recordings; no input may panic, grow a frame past its bound, or pass a control
// byte other than GS.
func FuzzDecoder(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s.layout, s.arm32, s.stream)
	}
	names := []string{"us", "de", "fr"}
	f.Fuzz(func(t *testing.T, layout byte, arm32 bool, stream []byte) {
		size := 24
		if arm32 {
			size = 16
		}
		opts := evdev.Options{GSSubstitute: '*', Framing: serialscan.Framing{MaxLength: 40}}
		for _, fr := range decodeAll(layoutOf(t, names[int(layout)%3]), opts, stream, size) {
			if len(fr.Raw) > 3+40 {
				t.Fatalf("frame of %d bytes", len(fr.Raw))
			}
			if fr.Err != nil {
				continue
			}
			for _, c := range fr.Data {
				if c < 0x20 && c != 0x1d || c == 0x7f {
					t.Fatalf("control byte %#x accepted in %q", c, fr.Data)
				}
			}
		}
	})
}

// TestFuzzCorpusFromRecordings keeps testdata/fuzz/FuzzDecoder in step with the recordings.
func TestFuzzCorpusFromRecordings(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecoder")
	if *update {
		old, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, o := range old {
			os.Remove(o)
		}
	}
	for _, s := range seeds(t) {
		body := fmt.Sprintf("go test fuzz v1\nbyte(%q)\nbool(%v)\n[]byte(%q)\n", s.layout, s.arm32, s.stream)
		path := filepath.Join(dir, s.name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != body {
			t.Errorf("%s out of step with the recordings (go test -run FuzzCorpus -update): %v", path, err)
		}
	}
}

// BenchmarkDecoder measures decoding the recorded US stream.
func BenchmarkDecoder(b *testing.B) {
	var stream []byte
	for _, r := range recordings(b) {
		if r.name == "us" {
			stream = r.stream
		}
	}
	b.SetBytes(int64(len(stream)))
	frames := 0
	for b.Loop() {
		frames += len(decodeAll(evdev.US, evdev.Options{}, stream, 24))
	}
	b.ReportMetric(float64(len(stream)/24*b.N)/b.Elapsed().Seconds(), "events/s")
	_ = frames
}
