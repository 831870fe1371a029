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
		// A GTIN-13 in the query is padded to 14 digits.
		{"https://a/414/9506000134369?01=9506000134352", "414=9506000134369|01=09506000134352", "https://a"},
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
		{"https://a/01/09506000134352/99/X", barcode.ErrDigitalLink, 10},         // attribute in path
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
		{"https://a/00/006141411234567890?4300=Joe+Bloggs", barcode.ErrCharset, 40}, // "+" is a space in a query
	}
	for _, tc := range bad {
		_, err := d.Decode([]byte(tc.uri), "")
		var be *barcode.Error
		if !errors.As(err, &be) || !errors.Is(err, tc.kind) || be.Pos != tc.pos {
			t.Errorf("%s: %v (pos %d); want %v at %d", tc.uri, err, posOf(err), tc.kind, tc.pos)
		}
	}

	// Not a Digital Link: mixed-case scheme [gse], no GS1 key, convenience alphas (deprecated).
	for _, uri := range []string{"HtTp://a/b/00/006141411234567890", "https://a/b", "https://a/gtin/12312312312333", "ftp://a/01/12312312312333"} {
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
