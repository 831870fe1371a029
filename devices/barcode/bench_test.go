package barcode_test

import (
	"testing"

	"github.com/depotd/depotd/devices/barcode"
)

// A GS1 logistic label's GS1-128: (00) SSCC, (02) content GTIN, (37) count, (10) lot,
// (15) best before, (17) expiry and (3103) net weight. GS1 forbids (01) with (02) and (37)
// in one message, so the trade-item variant with (01) is measured separately.
var (
	logisticLabel = []byte("]C100106141412345678908020950600013435237120\x1d10LOT-2026-11\x1d1527123117280131" + "3103012500")
	tradeItem     = []byte("]C10109506000134352310301250015271231172801311" + "0LOT-2026-11")
)

func benchDecode(b *testing.B, data []byte) {
	d := mustDecoder(b, barcode.DefaultConfig())
	if _, err := d.Decode(data, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := d.Decode(data, ""); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decodes/s")
}

func BenchmarkDecodeLogisticLabel(b *testing.B) { benchDecode(b, logisticLabel) }
func BenchmarkDecodeTradeItem(b *testing.B)     { benchDecode(b, tradeItem) }
func BenchmarkDecodeEAN13Weight(b *testing.B)   { benchDecode(b, []byte("2112345015002")) }
func BenchmarkDecodeDigitalLink(b *testing.B) {
	benchDecode(b, []byte("https://id.gs1.org/01/09506000134352/10/ABC?17=201225&3103=000195"))
}
