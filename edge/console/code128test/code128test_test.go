package code128test

import (
	"testing"
)

// TestDecodeReadsASymbolAndRefusesADamagedOne: "PJJ123C" in code set B (start 104,
// P=48 J=42 J=42 1=17 2=18 3=19 C=35; check (104+48+2·42+3·42+4·17+5·18+6·19+7·35) mod 103
// = 879 mod 103 = 55), from the widths of the standard's table.
func TestDecodeReadsASymbolAndRefusesADamagedOne(t *testing.T) {
	var w []int
	for _, v := range []int{104, 48, 42, 42, 17, 18, 19, 35, 55, 106} {
		for _, c := range widths[v] {
			w = append(w, int(c-'0'))
		}
	}
	got, err := Decode(w)
	if err != nil || got != "PJJ123C" {
		t.Fatalf("Decode = %q, %v; want PJJ123C", got, err)
	}
	w[len(w)-8]++ // a wrong check symbol must not read
	if got, err := Decode(w); err == nil {
		t.Fatalf("a damaged symbol read as %q", got)
	}
}
