package barcode_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/depotd/depotd/devices/barcode"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus and golden files from the case catalogue")

// checkError asserts the error contract: a *Error wrapping a sentinel, positioned inside
// the input.
func checkError(t *testing.T, err error, inputLen int) {
	t.Helper()
	var be *barcode.Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not *barcode.Error", err, err)
	}
	if be.Kind == nil || be.Msg == "" {
		t.Fatalf("error %+v lacks kind or message", be)
	}
	if be.Pos < 0 || be.Pos > inputLen {
		t.Fatalf("error %q at %d, input has %d bytes", be.Msg, be.Pos, inputLen)
	}
}

// bracketed re-encodes AIs as human-readable text for round-trip checks.
func bracketed(ais []barcode.AI) (string, bool) {
	var b strings.Builder
	for _, a := range ais {
		if strings.Contains(a.Value, "\\") {
			return "", false // "\(" is ambiguous in the bracketed syntax itself
		}
		b.WriteString("(" + a.AI + ")" + strings.ReplaceAll(a.Value, "(", "\\("))
	}
	return b.String(), true
}

func sameAIs(a, b []barcode.AI) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].AI != b[i].AI || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

func FuzzDecode(f *testing.F) {
	for _, tc := range decodeCases {
		f.Add([]byte(tc.in), tc.aim)
	}
	d := mustDecoder(f, barcode.DefaultConfig())
	f.Fuzz(func(t *testing.T, data []byte, aim string) {
		r, err := d.Decode(data, aim)
		if err != nil {
			checkError(t, err, len(data))
			return
		}
		if r.Kind == "" || r.Symbology == "" {
			t.Fatalf("result without kind or symbology: %+v", r)
		}
		if len(r.AIs) > len(data) {
			t.Fatalf("%d AIs from %d bytes", len(r.AIs), len(data))
		}
		if r.GTIN != "" && (len(r.GTIN) != 14 || !barcode.ValidCheckDigit(r.GTIN)) {
			t.Fatalf("GTIN %q is not a valid GTIN-14", r.GTIN)
		}
		if r.Kind == barcode.KindGS1 {
			// Whatever was accepted must be accepted again, identically, in bracketed form.
			if text, ok := bracketed(r.AIs); ok {
				r2, err := d.Decode([]byte(text), "")
				if err != nil || !sameAIs(r.AIs, r2.AIs) {
					t.Fatalf("%q accepted as %+v, but its bracketed form %q gives %+v, %v", data, r.AIs, text, r2.AIs, err)
				}
			}
		}
	})
}

func seedsElementString() []string {
	var out []string
	for _, tc := range decodeCases {
		if strings.HasPrefix(tc.in, "]C1") {
			out = append(out, tc.in[3:])
		}
	}
	return out
}

func seedsBracketed() []string {
	var out []string
	for _, tc := range decodeCases {
		if strings.HasPrefix(tc.in, "(") {
			out = append(out, tc.in)
		}
	}
	return out
}

func seedsDigitalLink() []string {
	out := []string{"https://a/01/09506000134352/22/V1/10/L1/21/S1?17=201225&3103=000195#x"}
	for _, tc := range decodeCases {
		if i := strings.Index(tc.in, "http"); i >= 0 {
			out = append(out, tc.in[i:])
		}
	}
	return out
}

var seedPatterns = []string{"21.....{NNDDD}", "23.....{NNNDD}", "1........{NND}.", `P\.{NNDD}`, "{}", "{DN}", "2{N}{D}"}

func FuzzElementString(f *testing.F) {
	for _, s := range seedsElementString() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ais, err := barcode.ParseElementString(s, 0)
		if err != nil {
			checkError(t, err, len(s))
			return
		}
		total := 0
		for _, a := range ais {
			total += len(a.AI) + len(a.Value)
			if a.Value == "" {
				t.Fatalf("empty value for AI (%s)", a.AI)
			}
		}
		if total > len(s) {
			t.Fatalf("AIs hold %d bytes of a %d-byte input", total, len(s))
		}
		// Re-serialise with an FNC1 after every AI: must parse to the same AIs.
		var b strings.Builder
		for _, a := range ais {
			b.WriteString(a.AI + a.Value + "\x1d")
		}
		again, err := barcode.ParseElementString(b.String(), 0)
		if err != nil || !sameAIs(ais, again) {
			t.Fatalf("%q -> %+v; re-serialised %q -> %+v, %v", s, ais, b.String(), again, err)
		}
		if err := barcode.CheckAssociations(ais, nil); err != nil {
			checkError(t, err, len(s))
		}
	})
}

func FuzzBracketed(f *testing.F) {
	for _, s := range seedsBracketed() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ais, err := barcode.ParseBracketed(s, 0)
		if err != nil {
			checkError(t, err, len(s))
			return
		}
		if text, ok := bracketed(ais); ok {
			again, err := barcode.ParseBracketed(text, 0)
			if err != nil || !sameAIs(ais, again) {
				t.Fatalf("%q -> %+v; %q -> %+v, %v", s, ais, text, again, err)
			}
		}
	})
}

func FuzzDigitalLink(f *testing.F) {
	for _, s := range seedsDigitalLink() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			return
		}
		ais, stem, err := barcode.ParseDigitalLink(s, 0)
		if err != nil {
			checkError(t, err, len(s))
			return
		}
		if !strings.HasPrefix(s, stem) {
			t.Fatalf("stem %q is not a prefix of %q", stem, s)
		}
		if len(ais) == 0 {
			t.Fatalf("%q accepted without AIs", s)
		}
	})
}

func FuzzPattern(f *testing.F) {
	for _, p := range seedPatterns {
		f.Add(p, "2112345015002")
	}
	f.Fuzz(func(t *testing.T, pattern, code string) {
		for _, enc := range []string{"ean13", "any"} {
			v, base, ok, err := barcode.CompilePattern(barcode.Pattern{Type: "weight", Pattern: pattern, Encoding: enc}, code)
			if err != nil || !ok {
				continue
			}
			if len(base) != len(code) {
				t.Fatalf("base %q and code %q differ in length", base, code)
			}
			if enc == "ean13" && !barcode.ValidCheckDigit(base) {
				t.Fatalf("base %q has a wrong check digit", base)
			}
			if !regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`).MatchString(v) {
				t.Fatalf("value %q is not a decimal", v)
			}
		}
	})
}

// TestAllocationsBounded: the largest accepted scan decodes with a bounded number of
// allocations, and anything longer is refused before any work.
func TestAllocationsBounded(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	// 8192 bytes of "(90)" element strings: the worst case for the AI list.
	big := []byte("]C1" + strings.Repeat("90X\x1d", (barcode.DefaultMaxLength-3)/4))
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := d.Decode(big, ""); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 64 {
		t.Errorf("%v allocations for a maximal scan", allocs)
	}
	tooBig := make([]byte, barcode.DefaultMaxLength+1)
	allocs = testing.AllocsPerRun(5, func() { _, _ = d.Decode(tooBig, "") })
	if allocs > 4 {
		t.Errorf("%v allocations to refuse an oversized scan", allocs)
	}
}

// TestFuzzCorpus keeps testdata/fuzz/Fuzz* in step with the case catalogue; run
// `go test -run TestFuzzCorpus -update` after changing decodeCases.
func TestFuzzCorpus(t *testing.T) {
	corpora := map[string][]string{}
	for _, tc := range decodeCases {
		corpora["FuzzDecode"] = append(corpora["FuzzDecode"], fmt.Sprintf("[]byte(%q)\nstring(%q)\n", tc.in, tc.aim))
	}
	for name, seeds := range map[string][]string{
		"FuzzElementString": seedsElementString(),
		"FuzzBracketed":     seedsBracketed(),
		"FuzzDigitalLink":   seedsDigitalLink(),
	} {
		for _, s := range seeds {
			corpora[name] = append(corpora[name], fmt.Sprintf("string(%q)\n", s))
		}
	}
	for _, p := range seedPatterns {
		corpora["FuzzPattern"] = append(corpora["FuzzPattern"], fmt.Sprintf("string(%q)\nstring(%q)\n", p, "2112345015002"))
	}
	for fuzzer, bodies := range corpora {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if *update {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for i, body := range bodies {
			path := filepath.Join(dir, fmt.Sprintf("seed%03d", i))
			body = "go test fuzz v1\n" + body
			if *update {
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != body {
				t.Errorf("%s out of date (run with -update): %v", path, err)
			}
		}
	}
}
