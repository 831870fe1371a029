package edge_test

import (
	"encoding/json"
	"testing"

	"github.com/depotd/depotd/edge"
)

var qtyCases = []struct {
	in      string
	want    string
	wantErr bool
}{
	{"12", "12", false},
	{"0", "0", false},
	{"-3", "-3", false},
	{"0.125", "0.125", false},
	{"12.500", "12.5", false},
	{"1e2", "100", false},
	{"1.5E-3", "0.0015", false},
	{"0.000001", "0.000001", false},
	{"0.0000001", "", true}, // 7 decimals
	{"999999999999999", "999999999999999", false},
	{"1000000000000000", "", true}, // 16 integer digits
	{"", "", true},
	{"abc", "", true},
	{"1,5", "", true},
	{" 1", "", true},
	{"NaN", "", true},
	{"Inf", "", true},
	{"1e99999", "", true},
	{"--1", "", true},
	{"1.2.3", "", true},
}

func TestParseQty(t *testing.T) {
	for _, c := range qtyCases {
		q, err := edge.ParseQty(c.in)
		if c.wantErr {
			if err == nil {
				t.Errorf("ParseQty(%q) = %s, want an error", c.in, q)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQty(%q): %v", c.in, err)
			continue
		}
		if q.String() != c.want {
			t.Errorf("ParseQty(%q) = %s, want %s", c.in, q, c.want)
		}
		back, err := edge.ParseQty(q.String())
		if err != nil || !back.Equal(q) {
			t.Errorf("round trip of %q: %v %v", c.in, back, err)
		}
	}
}

func TestQtyJSONIsExact(t *testing.T) {
	var l struct {
		A edge.Qty `json:"a"`
		B edge.Qty `json:"b"`
	}
	// 0.1 + 0.2 is 0.30000000000000004 in float64; it must be exactly 0.3 here.
	if err := json.Unmarshal([]byte(`{"a":0.1,"b":"0.2"}`), &l); err != nil {
		t.Fatal(err)
	}
	if s := l.A.Add(l.B).String(); s != "0.3" {
		t.Fatalf("0.1+0.2 = %s", s)
	}
	out, _ := json.Marshal(l)
	if string(out) != `{"a":"0.1","b":"0.2"}` {
		t.Fatalf("marshal = %s", out)
	}
	for _, bad := range []string{`{"a":null}`, `{"a":true}`, `{"a":"1e"}`, `{"a":{}}`} {
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParseQty(f *testing.F) {
	for _, c := range qtyCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := edge.ParseQty(s)
		if err != nil {
			return
		}
		if q.Decimals() > edge.MaxQtyDecimals {
			t.Fatalf("%q parsed with %d decimals", s, q.Decimals())
		}
		back, err := edge.ParseQty(q.String())
		if err != nil || !back.Equal(q) || back.String() != q.String() {
			t.Fatalf("%q → %s does not round-trip: %v", s, q, err)
		}
		raw, _ := json.Marshal(q)
		var j edge.Qty
		if err := json.Unmarshal(raw, &j); err != nil || !j.Equal(q) {
			t.Fatalf("%q: JSON round trip %s: %v", s, raw, err)
		}
	})
}
