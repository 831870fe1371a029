package scale_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/devices"
	"github.com/depotd/depotd/devices/scale"
	"github.com/depotd/depotd/devices/scale/unit"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite testdata/fuzz seed files from the catalogue")

func checkReading(t *testing.T, c catCase, got scale.Reading, delivered bool) {
	t.Helper()
	w := c.want
	if w.value == "" {
		if got.HasValue {
			t.Errorf("%s: value %s, want none", c.name, got.Value)
		}
	} else {
		if !got.HasValue || !got.Value.Equal(decimal.RequireFromString(w.value)) || got.Value.String() != decimal.RequireFromString(w.value).String() {
			t.Errorf("%s: value %s (has %v), want %s", c.name, got.Value, got.HasValue, w.value)
		}
		if got.Unit != w.unit {
			t.Errorf("%s: unit %q, want %q", c.name, got.Unit, w.unit)
		}
	}
	if got.Stable != w.stable || got.Net != w.net || got.Status != w.status {
		t.Errorf("%s: stable=%v net=%v status=%q, want stable=%v net=%v status=%q", c.name, got.Stable, got.Net, got.Status, w.stable, w.net, w.status)
	}
	if delivered != w.deliver {
		t.Errorf("%s: delivered=%v, want %v", c.name, delivered, w.deliver)
	}
}

func wantErr(t *testing.T, c catCase, err error) bool {
	t.Helper()
	if c.want.err != nil {
		if !errors.Is(err, c.want.err) {
			t.Errorf("%s (%s): err %v, want %v", c.name, c.cite, err, c.want.err)
		}
		return true
	}
	if err != nil {
		t.Errorf("%s (%s): %v", c.name, c.cite, err)
		return true
	}
	return false
}

func TestSICSCatalogue(t *testing.T) {
	for _, c := range sicsCases {
		r, err := scale.DecodeSICS([]byte(c.in))
		if wantErr(t, c, err) {
			continue
		}
		if r.ID != "S" {
			t.Errorf("%s: id %q", c.name, r.ID)
		}
		var got scale.Reading
		if r.Reading != nil {
			got = *r.Reading
		}
		checkReading(t, c, got, r.Reading != nil)
	}
	for _, c := range sicsOther {
		r, err := scale.DecodeSICS([]byte(c.in))
		if err != nil {
			t.Errorf("%s (%s): %v", c.name, c.cite, err)
			continue
		}
		if r.ID != c.id || r.Status != c.status {
			t.Errorf("%s: id %q status %q, want %q %q", c.name, r.ID, r.Status, c.id, c.status)
		}
	}
	r, _ := scale.DecodeSICS([]byte("I4 A \"1234567\"\r\n"))
	if len(r.Params) != 1 || r.Params[0] != `"1234567"` {
		t.Errorf("I4 params %q", r.Params)
	}
	r, _ = scale.DecodeSICS([]byte("T S     100.00 g\r\n"))
	if r.Reading == nil || r.Reading.Value.String() != "100" {
		t.Errorf("T reply reading %+v", r.Reading)
	}
}

func Test8217Catalogue(t *testing.T) {
	for _, c := range t8217Cases {
		r, err := scale.Decode8217([]byte(c.in), c.unit)
		if wantErr(t, c, err) {
			continue
		}
		deliver := !r.IsStatus || r.Reading.Status != devices.WeightOK
		checkReading(t, c, r.Reading, deliver)
	}
}

func TestNCICatalogue(t *testing.T) {
	for _, c := range nciCases {
		r, err := scale.DecodeNCI([]byte(c.in))
		if wantErr(t, c, err) {
			continue
		}
		if c.name == "unknown command" {
			if !r.Unknown {
				t.Errorf("%s: not Unknown", c.name)
			}
			continue
		}
		deliver := r.HasValue || r.Reading.Status != devices.WeightOK
		checkReading(t, c, r.Reading, deliver)
	}
}

func TestContinuousCatalogue(t *testing.T) {
	for _, c := range contCases {
		r, err := scale.DecodeContinuous([]byte(c.in))
		if wantErr(t, c, err) {
			continue
		}
		checkReading(t, c, r.Reading, true)
	}
	r, err := scale.DecodeContinuous([]byte("\x02\x2d\x31\x20001234000500\r\x24"))
	if err != nil || r.Tare.String() != "0.5" {
		t.Errorf("tare %v %v, want 0.5", r.Tare, err)
	}
	// The reference's constructed frame, byte for byte (devices.md §1.2).
	ref := []byte{0x02, 0x2D, 0x30, 0x20, 0x30, 0x30, 0x31, 0x32, 0x33, 0x34, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x0D}
	if got := scale.ContinuousChecksum(ref); got != 0x2A {
		t.Errorf("checksum %#02x, want 0x2a", got)
	}
}

func splitAll(s *scale.ContinuousSplitter, stream []byte) (frames [][]byte, noise int) {
	for len(stream) > 0 {
		adv, f, n := s.Split(stream)
		if adv == 0 {
			break
		}
		noise += n
		if f != nil {
			frames = append(frames, append([]byte(nil), f...))
		}
		stream = stream[adv:]
	}
	return frames, noise
}

// TestContinuousSplitterChecksumOnRefusesCorruptedAndMissingChecksums: with checksum: on,
// a corrupted frame is handed over with its wrong checksum, and a frame that lost its
// checksum character is handed over without one (17 bytes), so both are refused by name,
// and the next frame is not lost with them.
func TestContinuousSplitterChecksumOnRefusesCorruptedAndMissingChecksums(t *testing.T) {
	good := []byte("\x02\x2d\x30\x20001234000000\r\x2a")
	bad := []byte("\x02\x2d\x30\x20001334000000\r\x2a") // one digit flipped, old checksum
	stream := bytes.Join([][]byte{[]byte("\xff~"), good, bad, good[:17], good}, nil)
	frames, noise := splitAll(scale.NewContinuousSplitter(scale.ChecksumOn), stream)
	if noise != 2 || len(frames) != 4 || len(frames[2]) != 17 || !bytes.Equal(frames[3], good) {
		t.Fatalf("frames %q noise %d, want 4 (the third of 17 bytes) and 2", frames, noise)
	}
	if _, err := scale.DecodeContinuous(frames[1]); !errors.Is(err, scale.ErrChecksum) {
		t.Fatalf("corrupted frame: %v, want ErrChecksum", err)
	}
}

// TestContinuousSplitterResyncsOnCutShortFrame: an STX inside a frame means it was cut
// short (a cable pull mid-frame); the search restarts there and the next frame is read.
func TestContinuousSplitterResyncsOnCutShortFrame(t *testing.T) {
	good := []byte("\x02\x2d\x30\x20001234000000\r\x2a")
	for mode, frame := range map[string][]byte{scale.ChecksumOn: good, scale.ChecksumOff: good[:17]} {
		frames, noise := splitAll(scale.NewContinuousSplitter(mode), bytes.Join([][]byte{frame[:9], frame}, nil))
		if len(frames) != 1 || noise != 9 || !bytes.Equal(frame, frames[0]) {
			t.Errorf("%s: frames %q noise %d, want the whole frame after 9 bytes of noise", mode, frames, noise)
		}
	}
}

// TestContinuousSplitterAutoLearnsFromThreeAgreeingFrames: auto takes a mode only after
// three frames in a row agree on it; a frame followed by neither its checksum nor the next
// STX restarts the count.
func TestContinuousSplitterAutoLearnsFromThreeAgreeingFrames(t *testing.T) {
	good := []byte("\x02\x2d\x30\x20001234000000\r\x2a")
	plain := good[:17]
	cases := []struct {
		name   string
		stream [][]byte
		want   string
	}{
		{"two checksummed", [][]byte{good, good}, scale.ChecksumAuto},
		{"three checksummed", [][]byte{good, good, good}, scale.ChecksumOn},
		{"three plain (the third needs the next STX)", [][]byte{plain, plain, plain, {0x02}}, scale.ChecksumOff},
		{"checksum lost once, then checksummed", [][]byte{plain, good, good}, scale.ChecksumAuto},
		{"plain, plain, garbage after the next", [][]byte{plain, plain, plain, {0xff}, plain, {0x02}}, scale.ChecksumAuto},
		{"garbage restarts", [][]byte{good, good, plain, {0xff}, good, good, good}, scale.ChecksumOn},
	}
	for _, c := range cases {
		var s scale.ContinuousSplitter
		splitAll(&s, bytes.Join(c.stream, nil))
		if s.Mode() != c.want {
			t.Errorf("%s: mode %s, want %s", c.name, s.Mode(), c.want)
		}
	}
}

// --- fuzzing -------------------------------------------------------------------------

// checkInvariants holds for every decoded reading, whatever the input: a stable reading is
// in range, a value comes with a unit depotd knows, and Kg is computable.
func checkInvariants(t *testing.T, r scale.Reading) {
	if r.Stable && r.Status != devices.WeightOK {
		t.Fatalf("stable reading with status %q", r.Status)
	}
	if r.HasValue {
		if !unit.Valid(r.Unit) {
			t.Fatalf("value with unit %q", r.Unit)
		}
		if _, err := unit.ToKg(r.Value, r.Unit); err != nil {
			t.Fatal(err)
		}
	}
}

func FuzzDecodeSICS(f *testing.F) {
	for _, c := range sicsCases {
		f.Add([]byte(c.in))
	}
	for _, c := range sicsOther {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := scale.DecodeSICS(b)
		if err == nil && r.Reading != nil {
			checkInvariants(t, *r.Reading)
		}
	})
}

func FuzzDecode8217(f *testing.F) {
	for _, c := range t8217Cases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := scale.Decode8217(b, "kg")
		if err == nil {
			checkInvariants(t, r.Reading)
			if r.Reading.HasValue == r.IsStatus {
				t.Fatalf("weight and status at once: %+v", r)
			}
		}
	})
}

func FuzzDecodeNCI(f *testing.F) {
	for _, c := range nciCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := scale.DecodeNCI(b)
		if err == nil {
			checkInvariants(t, r.Reading)
		}
	})
}

func FuzzDecodeContinuous(f *testing.F) {
	for _, c := range contCases {
		f.Add([]byte(c.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := scale.DecodeContinuous(b)
		if err == nil {
			checkInvariants(t, r.Reading)
		}
	})
}

// FuzzSplit feeds an arbitrary stream through every protocol's splitter: it must always
// make progress, never return a frame longer than the protocol allows, and account for
// every byte (frames + noise + what it keeps waiting).
func FuzzSplit(f *testing.F) {
	var all [][]byte
	for _, cs := range [][]catCase{sicsCases, t8217Cases, nciCases, contCases} {
		for _, c := range cs {
			all = append(all, []byte(c.in))
		}
	}
	f.Add(bytes.Join(all, nil))
	for _, b := range all {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		var cont scale.ContinuousSplitter
		splitters := map[string]struct {
			fn  func([]byte) (int, []byte, int)
			max int
		}{
			"mt-sics":           {scale.SplitSICS, 128},
			"toledo-8217":       {scale.Split8217, 16},
			"nci-scp01":         {scale.SplitNCI, 48},
			"toledo-continuous": {cont.Split, 18},
		}
		for name, sp := range splitters {
			data := stream
			for len(data) > 0 {
				adv, frame, noise := sp.fn(data)
				if adv < 0 || adv > len(data) || noise > adv {
					t.Fatalf("%s: advance %d noise %d of %d", name, adv, noise, len(data))
				}
				if adv == 0 {
					break // waiting for more bytes
				}
				if len(frame) > sp.max {
					t.Fatalf("%s: frame of %d bytes", name, len(frame))
				}
				data = data[adv:]
			}
		}
	})
}

// TestFuzzCorpus checks that testdata/fuzz holds every catalogue case as a seed file
// (so `go test -fuzz` starts from them and plain `go test` replays them);
// -update-corpus rewrites them.
func TestFuzzCorpus(t *testing.T) {
	targets := map[string][]string{}
	for _, c := range sicsCases {
		targets["FuzzDecodeSICS"] = append(targets["FuzzDecodeSICS"], c.name+"\x00"+c.in)
	}
	for _, c := range sicsOther {
		targets["FuzzDecodeSICS"] = append(targets["FuzzDecodeSICS"], "reply "+c.name+"\x00"+c.in)
	}
	for _, c := range t8217Cases {
		targets["FuzzDecode8217"] = append(targets["FuzzDecode8217"], c.name+"\x00"+c.in)
	}
	for _, c := range nciCases {
		targets["FuzzDecodeNCI"] = append(targets["FuzzDecodeNCI"], c.name+"\x00"+c.in)
	}
	for _, c := range contCases {
		targets["FuzzDecodeContinuous"] = append(targets["FuzzDecodeContinuous"], c.name+"\x00"+c.in)
	}
	for _, sd := range streamSeeds() {
		targets["FuzzStreamReportsOnlySentWeights"] = append(targets["FuzzStreamReportsOnlySentWeights"], sd.name+"\x00"+string(sd.script))
	}
	unsafe := regexp.MustCompile(`[^a-z0-9]+`)
	for target, cases := range targets {
		for _, nc := range cases {
			name, in, _ := bytes.Cut([]byte(nc), []byte{0})
			file := filepath.Join("testdata", "fuzz", target, unsafe.ReplaceAllString(strings.ToLower(string(name)), "-"))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(in)))
			if *updateCorpus {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(file)
			if err != nil || string(got) != want {
				t.Errorf("%s: missing or stale (run go test -run TestFuzzCorpus -update-corpus): %v", file, err)
			}
		}
	}
}

// TestSplitNCIRestarts: a reply whose ETX was lost to noise is dropped where its framing
// breaks, so the next reply is still read (it must not be swallowed into a merged frame).
func TestSplitNCIRestarts(t *testing.T) {
	good := "\n0001.25lb\r\n00\r\x03"
	stream := []byte("\n0001.25lb\r\n00\r#" + "\xff\x00~" + good + "\n20\r\x03")
	var frames []string
	for len(stream) > 0 {
		adv, f, _ := scale.SplitNCI(stream)
		if adv == 0 {
			break
		}
		if f != nil {
			frames = append(frames, string(f))
		}
		stream = stream[adv:]
	}
	if len(frames) != 2 || frames[0] != good || frames[1] != "\n20\r\x03" {
		t.Fatalf("frames %q", frames)
	}
}
