package barcode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/depotd/depotd/devices/barcode"
)

// Digital Link vectors: [gse] are from gs1/gs1-syntax-engine src/c-lib/dl.c tests.
func TestDigitalLink(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	ok := []struct {
		uri, ais, stem string
	}{
		{"http://a/00/006141411234567890", "00=006141411234567890", "http://a"},                                 // [gse]
		{"HTTP://a/00/006141411234567890", "00=006141411234567890", "HTTP://a"},                                 // [gse]
		{"HTTPS://a/00/006141411234567890", "00=006141411234567890", "HTTPS://a"},                               // [gse]
		{"https://a/01/12312312312333", "01=12312312312333", "https://a"},                                       // [gse]
		{"https://xn--fsq.xn--0zwm56d/01/12312312312333", "01=12312312312333", "https://xn--fsq.xn--0zwm56d"},   // [gse]
		{"https://a:65535/01/12312312312333", "01=12312312312333", "https://a:65535"},                           // [gse]
		{"https://[2001:db8::1]/01/12312312312333", "01=12312312312333", "https://[2001:db8::1]"},               // [gse]
		{"https://a/stem/00/006141411234567890", "00=006141411234567890", "https://a/stem"},                     // [gse]
		{"https://a/00/faux/00/006141411234567890", "00=006141411234567890", "https://a/00/faux"},               // [gse] rightmost key
		{"https://id.gs1.org/01/12312312312326/21/abc123", "01=12312312312326|21=abc123", "https://id.gs1.org"}, // [ref]
		// Qualifiers in order 22 -> 10 -> 21, any subset, or 235 alone.
		{"https://a/01/09506000134352/22/V1/10/L1/21/S1", "01=09506000134352|22=V1|10=L1|21=S1", "https://a"},
		{"https://a/01/09506000134352/22/V1/21/S1", "01=09506000134352|22=V1|21=S1", "https://a"},
		{"https://a/01/09506000134352/235/TPX1", "01=09506000134352|235=TPX1", "https://a"},
		{"https://a/414/9506000134369/254/EXT", "414=9506000134369|254=EXT", "https://a"},
		// Query attributes, in the order given; non-AI parameters and fragments ignored.
		{"https://a/01/09506000134352/10/ABC?17=201225&3103=000195", "01=09506000134352|10=ABC|17=201225|3103=000195", "https://a"},
		{"https://a/01/09506000134352?linkType=all&17=201225", "01=09506000134352|17=201225", "https://a"},
		{"https://a/01/09506000134352?singleton&&17=201225#frag", "01=09506000134352|17=201225", "https://a"},
		// Percent-encoding in path and query; "+" is a space in the query only.
		{"https://a/01/09506000134352/10/A%2FB%25", "01=09506000134352|10=A/B%", "https://a"},
		{"https://a/01/09506000134352/10/A+B", "01=09506000134352|10=A+B", "https://a"},
		{"https://a/00/006141411234567890?4300=Joe%2520Bloggs&4308=%2B441234", "00=006141411234567890|4300=Joe%20Bloggs|4308=+441234", "https://a"},
	}
	for _, tc := range ok {
		r, err := d.Decode([]byte(tc.uri), "")
		if err != nil {
			t.Errorf("%s: %v", tc.uri, err)
			continue
		}
		var got []string
		for _, a := range r.AIs {
			got = append(got, a.AI+"="+a.Value)
		}
		if strings.Join(got, "|") != tc.ais || r.DigitalLinkStem != tc.stem || r.Kind != barcode.KindGS1 {
			t.Errorf("%s: ais %s stem %q kind %s; want %s %q", tc.uri, strings.Join(got, "|"), r.DigitalLinkStem, r.Kind, tc.ais, tc.stem)
		}
	}

	bad := []struct {
		uri  string
		kind error
		pos  int
	}{
		{"http:///", barcode.ErrDigitalLink, 7},                                  // [gse] no domain
		{"https://$a/00/006141411234567890", barcode.ErrDigitalLink, 8},          // [gse] bad domain character
		{"https://[fe80::1%25lo]/01/12312312312333", barcode.ErrDigitalLink, 16}, // [gse] IPv6 zone
		{"https://a/01/12312312312333 ", barcode.ErrDigitalLink, 27},             // space is not a URI character
		{"https://a/01/2112345678900", barcode.ErrLength, 26},                    // [gse] zero-suppressed GTIN in path
		{"https://a/01/09506000134352/10/ABC/22/V1", barcode.ErrDigitalLink, 10}, // bad order
		{"https://a/01/09506000134352/22/V/235/T", barcode.ErrDigitalLink, 10},   // alternatives mixed
		{"https://a/01/09506000134352/99/X", barcode.ErrDigitalLink, 28},         // attribute in path
		{"https://a/01/09506000134352?10=ABC", barcode.ErrDigitalLink, 28},       // qualifier belongs in path
		{"https://a/01/09506000134352?8200=x", barcode.ErrDigitalLink, 28},       // not a DL attribute
		{"https://a/01/09506000134352?17=201225&17=201226", barcode.ErrDigitalLink, 38},
		{"https://a/01/09506000134352?01=09506000134352", barcode.ErrDigitalLink, 28}, // duplicate of key
		{"https://a/01/09506000134352?23=1", barcode.ErrUnknownAI, 28},
		{"https://a/01/09506000134352?17=", barcode.ErrDigitalLink, 31},
		{"https://a/01/09506000134352/10/", barcode.ErrDigitalLink, 31},
		{"https://a/01/09506000134352/10/A%2", barcode.ErrDigitalLink, 32},
		{"https://a/01/09506000134352/10/A%00", barcode.ErrDigitalLink, 32},
		{"https://a/01/09506000134352?17=201325", barcode.ErrContent, 33},
		{"https://a/01/09506000134352?3103=000195&3102=001950", barcode.ErrPairing, 40},
		{"https://a/00/006141411234567890?4300=Joe+Bloggs", barcode.ErrCharset, 40},  // "+" is a space in a query
		{"https://a/414/9506000134369?01=9506000134352", barcode.ErrDigitalLink, 28}, // a key is never an attribute
		// Every http(s) input is a Digital Link or refused: mixed-case scheme [gse], no GS1
		// key, convenience alphas (deprecated).
		{"HtTp://a/b/00/006141411234567890", barcode.ErrDigitalLink, 0},
		{"https://a/b", barcode.ErrDigitalLink, 9},
		{"https://a/gtin/12312312312333", barcode.ErrDigitalLink, 9},
	}
	for _, tc := range bad {
		_, err := d.Decode([]byte(tc.uri), "")
		var be *barcode.Error
		if !errors.As(err, &be) || !errors.Is(err, tc.kind) || be.Pos != tc.pos {
			t.Errorf("%s: %v (pos %d); want %v at %d", tc.uri, err, posOf(err), tc.kind, tc.pos)
		}
	}

	// Not http(s): not a Digital Link, plain data.
	for _, uri := range []string{"ftp://a/01/12312312312333"} {
		r, err := d.Decode([]byte(uri), "")
		if err != nil || r.Kind != barcode.KindInternal {
			t.Errorf("%s: %v, kind %s; want internal", uri, err, r.Kind)
		}
	}
}

func posOf(err error) int {
	var be *barcode.Error
	if errors.As(err, &be) {
		return be.Pos
	}
	return -1
}

// TestDigitalLinkIsValidOrRefused: an http(s) scan is a valid GS1 Digital Link or refused
// with the reason, never passed on as opaque data (GS1 Digital Link URI Syntax 1.4).
func TestDigitalLinkIsValidOrRefused(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	const g = "https://a/01/09506000134352" // 27 bytes: what follows "/" or "?" starts at 28
	refused := []struct {
		name, uri string
		kind      error
		pos       int
		msg       string
	}{
		{"ordinary web address", "https://example.com/menu", barcode.ErrDigitalLink, 19, "no GS1 primary key"},
		{"domain only", "https://example.com/", barcode.ErrDigitalLink, 19, "no GS1 primary key"},
		{"mixed-case scheme", "Https://a/01/09506000134352", barcode.ErrDigitalLink, 0, "lower or upper case"},
		{"empty segment in the stem", "https://a//01/09506000134352", barcode.ErrDigitalLink, 10, "empty path segment"},
		{"empty segment after the key", g + "//10/A", barcode.ErrDigitalLink, 28, "empty path segment"},
		{"trailing slash", g + "/", barcode.ErrDigitalLink, 28, "empty path segment"},
		{"unknown AI in the path", g + "/23/X", barcode.ErrUnknownAI, 28, "unknown application identifier (23) in the URI path"},
		{"words after the key", g + "/info/X", barcode.ErrDigitalLink, 28, "is not an application identifier"},
		{"qualifier without value", g + "/10", barcode.ErrDigitalLink, 28, "has no value"},
		{"data attribute in the path", g + "/17/201225", barcode.ErrDigitalLink, 28, "not a key qualifier of (01)"},
		{"qualifier of another key", g + "/254/X", barcode.ErrDigitalLink, 28, "not a key qualifier of (01)"},
		{"qualifiers out of order", g + "/21/S/22/V", barcode.ErrDigitalLink, 10, "out of order"},
		{"qualifier alternatives mixed", g + "/10/L/235/T", barcode.ErrDigitalLink, 10, "out of order"},
		{"key in the query", g + "?00=106141412345678908", barcode.ErrDigitalLink, 28, "is a GS1 primary key"},
		{"qualifier in the query", g + "/21/S1?22=V", barcode.ErrDigitalLink, 34, "key qualifier of (01)"},
		{"qualifier in the query beside the other alternative", g + "/235/T?10=L", barcode.ErrDigitalLink, 34, "key qualifier of (01)"},
		{"non-attribute in the query", "https://a/00/106141412345678908?21=S1", barcode.ErrDigitalLink, 32, "not a valid Digital Link data attribute"},
		{"unknown numeric AI in the query", g + "?99999=1", barcode.ErrUnknownAI, 28, "unknown application identifier (99999)"},
		{"AI without value in the query", g + "?17", barcode.ErrDigitalLink, 30, "has no value"},
		{"invalid path value", g + "/10/A%20B", barcode.ErrCharset, 32, "not allowed"},
		{"invalid query value", g + "?17=201332", barcode.ErrContent, 33, "AI (17)"},
		{"attribute without its partner", "https://a/00/106141412345678908?10=L", barcode.ErrPairing, 32, "(10) needs"},
	}
	for _, tc := range refused {
		_, err := d.Decode([]byte(tc.uri), "")
		var be *barcode.Error
		if !errors.As(err, &be) || !errors.Is(err, tc.kind) || be.Pos != tc.pos || !strings.Contains(be.Msg, tc.msg) {
			t.Errorf("%s: %s: %v (pos %d); want %v at %d containing %q", tc.name, tc.uri, err, posOf(err), tc.kind, tc.pos, tc.msg)
		}
	}
	accepted := []struct{ name, uri, ais, stem string }{
		{"stem before the key", "https://example.com/shop/2024/01/09506000134352", "01=09506000134352", "https://example.com/shop/2024"},
		{"all qualifiers in order", g + "/22/V/10/L/21/S", "01=09506000134352|22=V|10=L|21=S", "https://a"},
		{"other query parameters are the resolver's", g + "?linkType=gs1:pip&context=x&17=201225", "01=09506000134352|17=201225", "https://a"},
		{"10 is an attribute where it qualifies no key", "https://a/01/09506000134352?11=201225", "01=09506000134352|11=201225", "https://a"},
		{"upper-case scheme", "HTTPS://A/01/09506000134352", "01=09506000134352", "HTTPS://A"},
	}
	for _, tc := range accepted {
		r, err := d.Decode([]byte(tc.uri), "")
		if err != nil {
			t.Errorf("%s: %s: %v", tc.name, tc.uri, err)
			continue
		}
		if got := resultFields(t, r)["ais"]; got != tc.ais || r.DigitalLinkStem != tc.stem {
			t.Errorf("%s: %s: ais %s stem %q; want %s %q", tc.name, tc.uri, got, r.DigitalLinkStem, tc.ais, tc.stem)
		}
	}
}

// TestDigitalLinkPrimaryKeys: the path keys are the standard's: (01), (00), (253), (255),
// (401), (402), (414), (417), (8003), (8004), (8006), (8010), (8013), (8017), (8018), and
// (415) with its qualifier (8020) since URI Syntax 1.3; each is accepted as a key and
// refused as a query attribute.
func TestDigitalLinkPrimaryKeys(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	gsin := "9506000134352001"
	keys := []struct{ path, ai string }{
		{"/01/09506000134352", "01"},
		{"/00/106141412345678908", "00"},
		{"/253/9506000134369ABC", "253"},
		{"/255/950600013436912", "255"},
		{"/401/9506000134ABC", "401"},
		{"/402/" + gsin + string(barcode.CheckDigit(gsin)), "402"},
		{"/414/9506000134369", "414"},
		{"/415/9506000134369/8020/REF1", "415"},
		{"/417/9506000134369", "417"},
		{"/8003/09506000134369A1", "8003"},
		{"/8004/9506000134ABC", "8004"},
		{"/8006/095060001343520102", "8006"},
		{"/8010/9506000134AB", "8010"},
		{"/8013/1987654Ad4X4bL5ttr2310c2K", "8013"},
		{"/8017/106141412345678908", "8017"},
		{"/8018/106141412345678908", "8018"},
	}
	for _, k := range keys {
		r, err := d.Decode([]byte("https://id.gs1.org"+k.path), "")
		if err != nil || len(r.AIs) == 0 || r.AIs[0].AI != k.ai {
			t.Errorf("key (%s): %+v, %v", k.ai, r.AIs, err)
		}
		value := strings.Split(k.path, "/")[2]
		other := "/8004/9506000134XYZ"
		if k.ai == "8004" {
			other = "/414/9506000134369"
		}
		_, err = d.Decode([]byte("https://id.gs1.org"+other+"?"+k.ai+"="+value), "")
		if !errors.Is(err, barcode.ErrDigitalLink) || !strings.Contains(err.Error(), "primary key") {
			t.Errorf("key (%s) in the query: %v", k.ai, err)
		}
	}
}
