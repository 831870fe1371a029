package edge_test

import (
	"testing"

	"github.com/depotd/depotd/edge"
)

// byteSizeCases is the catalogue shared by the table test and the fuzz seeds.
var byteSizeCases = []struct {
	in   string
	want edge.ByteSize
	ok   bool
}{
	{"4096", 4096, true},
	{"1GiB", 1 << 30, true},
	{"1G", 1 << 30, true},
	{"512MB", 512e6, true},
	{"512 MiB", 512 << 20, true},
	{"64k", 64 << 10, true},
	{"1.5GiB", 3 << 29, true},
	{"2TB", 2e12, true},
	{"10b", 10, true},
	{"", 0, false},
	{"GiB", 0, false},
	{"-1", 0, false},
	{"1 parsec", 0, false},
	{"99999999999999999999", 0, false},
	{"9999999999TiB", 0, false},
	{"1e9", 0, false},
}

func TestParseByteSize(t *testing.T) {
	for _, c := range byteSizeCases {
		got, err := edge.ParseByteSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d ok=%v", c.in, got, err, c.want, c.ok)
		}
		if c.ok {
			back, err := edge.ParseByteSize(got.String())
			if err != nil || back != got {
				t.Errorf("%q: String %q does not round-trip: %d %v", c.in, got.String(), back, err)
			}
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, c := range byteSizeCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := edge.ParseByteSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q parsed to a negative size %d", s, v)
		}
		back, err := edge.ParseByteSize(v.String())
		if err != nil || back != v {
			t.Fatalf("%q → %d → %q → %d, %v", s, v, v.String(), back, err)
		}
	})
}
