package edge_test

import (
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

const sumHex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// sumLineCases is the catalogue shared by the table test and the fuzz seeds.
var sumLineCases = []struct {
	in, want string
	ok       bool
}{
	{sumHex + "  backup.db\n", sumHex, true},
	{strings.ToUpper(sumHex) + " *backup.db", sumHex, true},
	{sumHex, sumHex, true},
	{"", "", false},
	{sumHex[:63] + "  backup.db", "", false},
	{sumHex[:63] + "g  backup.db", "", false},
	{"backup.db  " + sumHex, "", false},
}

func TestParseSumLine(t *testing.T) {
	for _, c := range sumLineCases {
		got, err := edge.ParseSumLine(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSumLine(%q) = %q, %v; want %q ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func FuzzParseSumLine(f *testing.F) {
	for _, c := range sumLineCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := edge.ParseSumLine(s)
		if err != nil {
			return
		}
		if len(got) != 64 || strings.ToLower(got) != got {
			t.Fatalf("%q gave %q", s, got)
		}
		if again, err := edge.ParseSumLine(got + "  x"); err != nil || again != got {
			t.Fatalf("%q does not round-trip: %q %v", got, again, err)
		}
	})
}
