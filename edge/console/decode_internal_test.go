package console

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
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

// decodeFastSeeds are bodies on both sides of what the hand-written pass takes: plain ones
// it must take, and near misses (escapes, repeated or differently spelt keys, numbers,
// null, invalid UTF-8, trailing data) it must leave to encoding/json.
var decodeFastSeeds = []string{
	`{"id":"bench-1","type":"receipt","ref":"PO000001","lines":[{"item":"SKU-0001","qty":"12","lot":"L1","expiry":"2027-01-31","to":"WH/Stock"}]}`,
	" {\n\t\"id\" : \"r1\" ,\r\n \"type\":\"transfer\",\"lines\":[ {\"item\":\"A\",\"qty\":\"-1.50\",\"from\":\"WH/Input\",\"to\":\"WH/Stock\",\"state\":\"available\",\"to_state\":\"quarantine\"} , {\"item\":\"B\",\"qty\":\"1e2\"} ] } \n",
	`{"id":"x","type":"receipt","reason":"R","note":"Ünïcode ✓","station":"S1","operator":"ann","source":"scanner","lines":[{"item":"A","qty":"1","uom":"Units","serial":"SN1","packaging":"case","weight_kg":"1.250","base_uom":"Units"}]}`,
	`{}`, `{"lines":[]}`, `{"id":"x","lines":[{}]}`, `{"id":""}`,
	`{"id":"a\"b"}`, `{"id":"a\u0041"}`, `{"id":"a","id":"b"}`, `{"ID":"a"}`, `{"Id":"a","id":"b"}`,
	`{"id":"x","lines":[{"item":"A","qty":12}]}`, `{"id":"x","lines":[{"item":"A","qty":"12","qty":"13"}]}`,
	`{"id":"x","lines":[{"item":"A","qty":"1"}],"lines":[{"qty":"2"}]}`,
	`{"id":"x","lines":[{"item":"A","qty":"1.2.3"}]}`, `{"id":"x","lines":[{"item":"A","qty":" 12"}]}`,
	`{"id":"x","lines":[{"item":"A","qty":""}]}`, `{"id":"x","lines":[{"item":"A","qty":null}]}`,
	`{"id":null}`, `{"id":"x","lines":null}`, `{"id":"x","seq":5}`, `{"id":"x","at":"2026-01-01T00:00:00Z"}`,
	`{"id":"x","scans":[]}`, `{"id":"x","bogus":1}`, `{"id":"x","lines":[{"item":"A","qty":"1","nope":2}]}`,
	`{"id":"x","lines":[{"item":"A","qty":"1","base_qty":"1"}]}`, "{\"id\":\"\xff\"}", "{\"id\":\"\x01\"}",
	`{"id":"x"}{}`, `{"id":"x"}garbage`, `{"id":"x",}`, `{"id":"x"`, `{"id":"x","lines":[{"item":"A"},]}`,
	`[]`, `null`, ``, `   `, `{"id":1}`, `{"id":"x","lines":{}}`, `{"id":"x","type":"receipt","lines":[{"item":"A","qty":"1"}]]`,
}

// FuzzDecodeFastAgreesWithJSON: whatever body the hand-written pass takes, encoding/json
// (the careful path, strict) takes too and gives the very same transaction; what it does
// not take goes on to encoding/json, so the answer to every body is encoding/json's.
func FuzzDecodeFastAgreesWithJSON(f *testing.F) {
	for _, s := range decodeFastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tx, ok := decodeFast(body)
		if !ok {
			return
		}
		stx, field, err := decodeSlow(body)
		if err != nil {
			t.Fatalf("%q: the hand-written pass took it, encoding/json refuses it (%q, %v)", body, field, err)
		}
		if !reflect.DeepEqual(tx, stx) {
			t.Fatalf("%q: hand-written %#v, encoding/json %#v", body, tx, stx)
		}
	})
}

// TestPlainTransactionBodiesTakeTheHandWrittenPass: the bodies clients post (plain strings,
// quantities as decimal strings) do not pay for encoding/json's reflection.
func TestPlainTransactionBodiesTakeTheHandWrittenPass(t *testing.T) {
	for _, s := range decodeFastSeeds[:7] {
		if _, ok := decodeFast([]byte(s)); !ok {
			t.Errorf("%q goes the slow way", s)
		}
	}
}

// BenchmarkDecodeTransaction: DecodeTransaction on the body BenchmarkHTTPIngest posts,
// against encoding/json's strict pass (the previous fast path) in the same run:
// x-json is the time ratio, allocs and bytes are DecodeTransaction's.
//
//	go test ./edge/console -run '^$' -bench '^BenchmarkDecodeTransaction$' -benchmem
func BenchmarkDecodeTransaction(b *testing.B) {
	body := []byte(decodeFastSeeds[0])
	strict := func() {
		var tx edge.Transaction
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&tx); err != nil {
			b.Fatal(err)
		}
		if _, err := dec.Token(); err != io.EOF {
			b.Fatal(err)
		}
	}
	const per = 100 // interleaved in rounds, so that other load slows both alike
	var fast, slow time.Duration
	b.ReportAllocs()
	for done := 0; done < b.N; done += per {
		n := min(per, b.N-done)
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if _, _, err := DecodeTransaction(body); err != nil {
				b.Fatal(err)
			}
		}
		fast += time.Since(t0)
		b.StopTimer()
		t0 = time.Now()
		for i := 0; i < n; i++ {
			strict()
		}
		slow += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N), "ns/decode")
	b.ReportMetric(float64(slow.Nanoseconds())/float64(b.N), "json-ns/decode")
	b.ReportMetric(fast.Seconds()/slow.Seconds(), "x-json")
}
