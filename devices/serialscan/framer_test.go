package serialscan_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/devices/serialscan"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz corpus files from the catalogue")

func framingOf(c catalogueCase) serialscan.Framing {
	return serialscan.Framing{Suffix: c.suffix, Prefix: []byte(c.prefix), MaxLength: c.max}
}

func frameAll(f serialscan.Framing, in []byte, chunk int) []serialscan.Frame {
	fr := serialscan.NewFramer(f)
	var out []serialscan.Frame
	for len(in) > 0 {
		n := min(chunk, len(in))
		out = append(out, fr.Push(in[:n])...)
		in = in[n:]
	}
	// Only none mode ends frames by timeout; elsewhere a partial frame stays pending.
	if f.Suffix == serialscan.SuffixNone {
		out = append(out, fr.Flush()...)
	}
	return out
}

func TestFramerCatalogue(t *testing.T) {
	for _, c := range catalogue {
		t.Run(c.name, func(t *testing.T) {
			// Whole, then byte by byte: the wire may split a frame anywhere.
			for _, chunk := range []int{len(c.in) + 1, 1, 3} {
				got := frameAll(framingOf(c), []byte(c.in), chunk)
				if len(got) != len(c.want) {
					t.Fatalf("chunk %d: got %d frames %s, want %d", chunk, len(got), show(got), len(c.want))
				}
				for i, w := range c.want {
					g := got[i]
					if string(g.Raw) != w.Raw {
						t.Errorf("chunk %d frame %d raw %q, want %q", chunk, i, g.Raw, w.Raw)
					}
					if w.Bad != nil {
						if !errors.Is(g.Err, w.Bad) {
							t.Errorf("chunk %d frame %d err %v, want %v", chunk, i, g.Err, w.Bad)
						}
						if g.Data != nil || g.AIM != "" {
							t.Errorf("refused frame %d carries data %q aim %q", i, g.Data, g.AIM)
						}
						continue
					}
					if g.Err != nil || g.AIM != w.AIM || string(g.Data) != w.Data {
						t.Errorf("chunk %d frame %d = {aim %q data %q err %v}, want {aim %q data %q}", chunk, i, g.AIM, g.Data, g.Err, w.AIM, w.Data)
					}
				}
			}
		})
	}
}

func show(fs []serialscan.Frame) string {
	var b bytes.Buffer
	for _, f := range fs {
		fmt.Fprintf(&b, "{%q %q %v}", f.AIM, f.Data, f.Err)
	}
	return b.String()
}

func TestRefusalReasonCarriesHex(t *testing.T) {
	got := frameAll(serialscan.Framing{}, []byte("AB\x07\r"), 10)
	if len(got) != 1 || got[0].Err == nil {
		t.Fatalf("got %s", show(got))
	}
	if want := "raw 414207"; !bytes.Contains([]byte(got[0].Err.Error()), []byte(want)) {
		t.Fatalf("reason %q lacks %q", got[0].Err, want)
	}
}

func TestFramerPendingAndFlush(t *testing.T) {
	fr := serialscan.NewFramer(serialscan.Framing{Suffix: serialscan.SuffixCRLF})
	if out := fr.Push([]byte("]E0123\r")); len(out) != 0 || !fr.Pending() {
		t.Fatalf("CR without LF: %s pending=%v", show(out), fr.Pending())
	}
	out := fr.Flush()
	if len(out) != 1 || !errors.Is(out[0].Err, serialscan.ErrControlByte) {
		t.Fatalf("flushed lone CR: %s", show(out))
	}
	if fr.Pending() || len(fr.Flush()) != 0 {
		t.Fatal("flush of an empty framer produced a frame")
	}
}

func TestParseSuffixAndUnescape(t *testing.T) {
	for in, want := range map[string]serialscan.Suffix{"": "auto", "CRLF": "crlf", "etx": "etx", "none": "none"} {
		if got, err := serialscan.ParseSuffix(in); err != nil || got != want {
			t.Errorf("ParseSuffix(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := serialscan.ParseSuffix("tab"); err == nil {
		t.Error("ParseSuffix(tab) accepted")
	}
	for in, want := range map[string]string{"": "", "SCN:": "SCN:", `\x02`: "\x02", `\a`: "\a", `\x1b[5q"`: "\x1b[5q\"", `a\"b`: `a"b`, `\xff\u00e9é`: "\xff\u00e9é"} {
		if got, err := serialscan.Unescape(in); err != nil || string(got) != want {
			t.Errorf("Unescape(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := serialscan.Unescape(`\q`); err == nil {
		t.Error(`Unescape(\q) accepted`)
	}
}

// TestFuzzCorpusFromCatalogue keeps testdata/fuzz/FuzzFramer in step with the catalogue
// (go test -run FuzzCorpus -update rewrites it).
func TestFuzzCorpusFromCatalogue(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzFramer")
	for _, c := range catalogue {
		body := fmt.Sprintf("go test fuzz v1\nbyte(%q)\nstring(%q)\nuint16(%d)\nuint16(%d)\n[]byte(%q)\n",
			suffixIndex(c.suffix), c.prefix, c.max, len(c.in)/2, c.in)
		path := filepath.Join(dir, c.name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != body {
			t.Errorf("%s out of step with the catalogue (run go test -run FuzzCorpus -update): %v", path, err)
		}
	}
}

func FuzzFramer(f *testing.F) {
	for _, c := range catalogue {
		f.Add(suffixIndex(c.suffix), c.prefix, uint16(c.max), uint16(len(c.in)/2), []byte(c.in))
	}
	f.Fuzz(func(t *testing.T, mode byte, prefix string, max uint16, split uint16, in []byte) {
		if len(prefix) > 8 {
			prefix = prefix[:8]
		}
		fg := serialscan.Framing{Suffix: suffixes[int(mode)%len(suffixes)], Prefix: []byte(prefix), MaxLength: int(max % 300)}
		limit := fg.MaxLength
		if limit == 0 {
			limit = serialscan.DefaultMaxLength
		}
		whole := frameAll(fg, in, len(in)+1)
		// Split anywhere: the same frames must come out.
		cut := 1
		if len(in) > 0 {
			cut = int(split)%len(in) + 1
		}
		parts := frameAll(fg, in, cut)
		if show(whole) != show(parts) {
			t.Fatalf("split at %d changed the frames:\n%s\n%s", cut, show(whole), show(parts))
		}
		for _, fr := range whole {
			if len(fr.Raw) > len(prefix)+3+limit {
				t.Fatalf("frame kept %d bytes, bound %d", len(fr.Raw), len(prefix)+3+limit)
			}
			if fr.Err != nil {
				continue
			}
			if len(fr.Data) > limit {
				t.Fatalf("accepted %d bytes, max %d", len(fr.Data), limit)
			}
			for _, c := range fr.Data {
				if (c < 0x20 && c != 0x1d) || c == 0x7f {
					t.Fatalf("accepted control byte %#x in %q", c, fr.Data)
				}
			}
			if fr.AIM != "" && !serialscan.IsAIM([]byte(fr.AIM)) {
				t.Fatalf("AIM %q", fr.AIM)
			}
			if !bytes.HasSuffix(fr.Raw, fr.Data) || !bytes.HasPrefix(fr.Raw, []byte(prefix)) {
				t.Fatalf("raw %q does not hold prefix %q and data %q", fr.Raw, prefix, fr.Data)
			}
		}
	})
}

// BenchmarkFramer measures framing GS1 scans arriving in 64-byte reads.
func BenchmarkFramer(b *testing.B) {
	scan := []byte(gs1Element + "\r\n")
	stream := bytes.Repeat(scan, 1000)
	b.SetBytes(int64(len(stream)))
	frames := 0
	for b.Loop() {
		fr := serialscan.NewFramer(serialscan.Framing{})
		for in := stream; len(in) > 0; {
			n := min(64, len(in))
			frames += len(fr.Push(in[:n]))
			in = in[n:]
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "scans/s")
}
