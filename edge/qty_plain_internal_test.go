package edge

import (
	"encoding/json"
	"testing"
)

// FuzzQtyPlainStringAgrees: UnmarshalJSON's short cut for plain decimal strings gives what
// json.Unmarshal of the string then ParseQty gives (the value or the error text).
func FuzzQtyPlainStringAgrees(f *testing.F) {
	for _, s := range []string{`"12"`, `"-0.125"`, `"1e2"`, `"1e99999"`, `""`, `"1.2.3"`, `"+-"`, `"0.0000001"`,
		`"1234567890123456"`, `"\u0031"`, `"1 "`, `"١"`, `12`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := plainQtyString(b)
		if !ok {
			return
		}
		var viaJSON string
		if err := json.Unmarshal(b, &viaJSON); err != nil || viaJSON != s {
			t.Fatalf("%q: plain %q, json.Unmarshal %q (%v)", b, s, viaJSON, err)
		}
		var q Qty
		err := q.UnmarshalJSON(b)
		want, werr := ParseQty(viaJSON)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) || (err == nil && !q.Equal(want)) {
			t.Fatalf("%q: got %v, %v; want %v, %v", b, q, err, want, werr)
		}
	})
}
