package scale_test

import (
	"testing"

	"github.com/depotd/depotd/devices/scale"
)

// Decoder throughput, one typical frame per protocol. A scale sends at most a few dozen
// frames a second, so these only guard against a decoder becoming absurdly slow.
func BenchmarkDecode(b *testing.B) {
	frames := []struct {
		name string
		in   []byte
		fn   func([]byte) error
	}{
		{"mt-sics", []byte("S S      1.234 kg\r\n"), func(f []byte) error { _, err := scale.DecodeSICS(f); return err }},
		{"toledo-8217", []byte("\x0201.234\r"), func(f []byte) error { _, err := scale.Decode8217(f, "kg"); return err }},
		{"nci-scp01", []byte("\n0001.25lb\r\n00\r\x03"), func(f []byte) error { _, err := scale.DecodeNCI(f); return err }},
		{"toledo-continuous", []byte("\x02\x2d\x30\x20001234000000\r\x2a"), func(f []byte) error { _, err := scale.DecodeContinuous(f); return err }},
	}
	for _, f := range frames {
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := f.fn(f.in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(f.in))*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
		})
	}
}
