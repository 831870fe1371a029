package console

import (
	"reflect"
	"testing"
)

// FuzzDecodeTransactionFastPathAgrees: the one-pass fast path of DecodeTransaction gives
// exactly the answer of the careful path (the transaction, the field, the error text) for
// any body, well-formed or not.
func FuzzDecodeTransactionFastPathAgrees(f *testing.F) {
	for _, s := range []string{
		`{"id":"r1","type":"receipt","ref":"PO0042","lines":[{"item":"SKU-1","qty":"12","uom":"Units","lot":"L1","expiry":"2027-01-31","to":"WH/Stock","state":"available"}]}`,
		`{"id":"x","type":"adjustment","reason":"R","lines":[{"item":"A","qty":-1.5e1,"to":"WH/Stock"}]}`,
		`{"id":"x","lines":[{"qty":{}}]}`, `[]`, `null`, `{"id":1}`, `{"id":"\u0000"}`, ``, `   `,
		`{"id":"x"} `, `{"id":"x"}{}`, `{"id":"x"}garbage`, `{"id":"x"}]`, `{"id":"x","bogus":1}`,
		`{"id":"x","lines":[{"item":"A","qty":"1","nope":2}]}`, `{"id":"x","lines":[{"item":"A","qty":"1.2.3"}]}`,
		`{"id":"x","lines":{}}`, `{"id":"x",}`, `{"id":"x"` + "\n\t",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, field, err := DecodeTransaction(body)
		stx, sfield, serr := decodeSlow(body)
		if (err == nil) != (serr == nil) || (err != nil && err.Error() != serr.Error()) || field != sfield {
			t.Fatalf("%q: fast (%q, %v), careful (%q, %v)", body, field, err, sfield, serr)
		}
		if err == nil && !reflect.DeepEqual(tx, stx) {
			t.Fatalf("%q: fast %+v, careful %+v", body, tx, stx)
		}
	})
}
