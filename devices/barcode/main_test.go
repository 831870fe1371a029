package barcode_test

import (
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices/barcode"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDecoderConcurrent: one Decoder serves every station at once (run with -race).
func TestDecoderConcurrent(t *testing.T) {
	d := mustDecoder(t, barcode.DefaultConfig())
	want := make([]string, len(decodeCases))
	for i, tc := range decodeCases {
		r, err := d.Decode([]byte(tc.in), tc.aim)
		want[i] = resultFields(t, r)["ais"] + "|" + string(r.Kind) + errString(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(decodeCases))
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tc := range decodeCases {
				r, err := d.Decode([]byte(tc.in), tc.aim)
				var ais string
				for k, a := range r.AIs {
					if k > 0 {
						ais += "|"
					}
					ais += a.AI + "=" + a.Value
				}
				if got := ais + "|" + string(r.Kind) + errString(err); got != want[i] {
					errs <- tc.name + ": " + got + " != " + want[i]
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
