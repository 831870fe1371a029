package uplink

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// ackCases is the byte-level catalogue of ack payloads, shared by TestParseAck and the
// FuzzParseAck seeds.
var ackCases = []struct {
	name    string
	payload string
	want    edge.Ack
	err     error
}{
	{"plain", `{"v":1,"upto_seq":42}`, edge.Ack{UptoSeq: 42}, nil},
	{"with rejections", `{"v":1,"upto_seq":9,"rejected":[{"seq":3,"code":"UNKNOWN_ITEM","message":"no SKU-9"},{"seq":9,"code":"X","message":""}]}`,
		edge.Ack{UptoSeq: 9, Rejected: []edge.Rejection{{Seq: 3, Code: "UNKNOWN_ITEM", Message: "no SKU-9"}, {Seq: 9, Code: "X"}}}, nil},
	{"unknown field tolerated", `{"v":1,"upto_seq":1,"erp":"odoo-17"}`, edge.Ack{UptoSeq: 1}, nil},
	{"whitespace", " \n{ \"v\" : 1 , \"upto_seq\" : 7 }\n", edge.Ack{UptoSeq: 7}, nil},
	{"empty", ``, edge.Ack{}, ErrBadPayload},
	{"not json", `upto_seq=4`, edge.Ack{}, ErrBadPayload},
	{"array", `[1]`, edge.Ack{}, ErrBadPayload},
	{"truncated", `{"v":1,"upto_se`, edge.Ack{}, ErrBadPayload},
	{"missing v", `{"upto_seq":4}`, edge.Ack{}, ErrBadVersion},
	{"v 2", `{"v":2,"upto_seq":4}`, edge.Ack{}, ErrBadVersion},
	{"v string", `{"v":"1","upto_seq":4}`, edge.Ack{}, ErrBadPayload},
	{"missing upto", `{"v":1}`, edge.Ack{}, ErrInvalid},
	{"upto zero", `{"v":1,"upto_seq":0}`, edge.Ack{}, ErrInvalid},
	{"upto negative", `{"v":1,"upto_seq":-1}`, edge.Ack{}, ErrBadPayload},
	{"upto float", `{"v":1,"upto_seq":1.5}`, edge.Ack{}, ErrBadPayload},
	{"upto overflow", `{"v":1,"upto_seq":18446744073709551616}`, edge.Ack{}, ErrBadPayload},
	{"rejected above upto", `{"v":1,"upto_seq":5,"rejected":[{"seq":6,"code":"X","message":""}]}`, edge.Ack{}, ErrInvalid},
	{"rejected seq 0", `{"v":1,"upto_seq":5,"rejected":[{"seq":0,"code":"X"}]}`, edge.Ack{}, ErrInvalid},
	{"rejected no seq", `{"v":1,"upto_seq":5,"rejected":[{"code":"X"}]}`, edge.Ack{}, ErrInvalid},
	{"rejected no code", `{"v":1,"upto_seq":5,"rejected":[{"seq":2}]}`, edge.Ack{}, ErrInvalid},
	{"rejected twice", `{"v":1,"upto_seq":5,"rejected":[{"seq":2,"code":"A"},{"seq":2,"code":"B"}]}`, edge.Ack{}, ErrInvalid},
	{"rejected not list", `{"v":1,"upto_seq":5,"rejected":{"seq":2}}`, edge.Ack{}, ErrBadPayload},
}

func TestParseAck(t *testing.T) {
	for _, tc := range ackCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAck([]byte(tc.payload))
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseAck: no input panics, and an accepted ack always satisfies the rules the
// journal relies on.
func FuzzParseAck(f *testing.F) {
	for _, tc := range ackCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		a, err := ParseAck(payload)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) && !errors.Is(err, ErrBadVersion) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if a.UptoSeq == 0 {
			t.Fatal("accepted upto_seq 0")
		}
		seen := map[uint64]bool{}
		for _, r := range a.Rejected {
			if r.Seq == 0 || r.Seq > a.UptoSeq || r.Code == "" || seen[r.Seq] {
				t.Fatalf("accepted bad rejection %+v in %+v", r, a)
			}
			seen[r.Seq] = true
		}
	})
}

var cmdCases = []struct {
	name    string
	payload string
	want    Command
	err     error
}{
	{"status", `{"v":1,"cmd":"status"}`, Command{V: 1, Cmd: "status"}, nil},
	{"resend", `{"v":1,"cmd":"resend","from_seq":120}`, Command{V: 1, Cmd: "resend", FromSeq: 120}, nil},
	{"resend no from", `{"v":1,"cmd":"resend"}`, Command{}, ErrInvalid},
	{"resend from 0", `{"v":1,"cmd":"resend","from_seq":0}`, Command{}, ErrInvalid},
	{"unknown", `{"v":1,"cmd":"reboot"}`, Command{}, ErrInvalid},
	{"no v", `{"cmd":"status"}`, Command{}, ErrBadVersion},
	{"v 3", `{"v":3,"cmd":"status"}`, Command{}, ErrBadVersion},
	{"garbage", "\x00\xff", Command{}, ErrBadPayload},
	{"cmd number", `{"v":1,"cmd":7}`, Command{}, ErrBadPayload},
}

func TestParseCommand(t *testing.T) {
	for _, tc := range cmdCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCommand([]byte(tc.payload))
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, tc := range cmdCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := ParseCommand(payload)
		if err != nil {
			return
		}
		if c.V != 1 || (c.Cmd != "status" && c.Cmd != "resend") || (c.Cmd == "resend" && c.FromSeq == 0) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

var requestCases = []struct {
	name    string
	payload string
	want    Request
	err     error
}{
	{"snapshot", `{"v":1,"request":"snapshot","at":"2026-12-03T10:00:00Z"}`, Request{V: 1, Request: "snapshot", At: "2026-12-03T10:00:00Z"}, nil},
	{"snapshot without at", `{"v":1,"request":"snapshot"}`, Request{V: 1, Request: "snapshot"}, nil},
	{"unknown member ignored", `{"v":1,"request":"snapshot","why":"restore"}`, Request{V: 1, Request: "snapshot"}, nil},
	{"unknown request", `{"v":1,"request":"reboot"}`, Request{}, ErrInvalid},
	{"no request", `{"v":1}`, Request{}, ErrInvalid},
	{"no v", `{"request":"snapshot"}`, Request{}, ErrBadVersion},
	{"v 2", `{"v":2,"request":"snapshot"}`, Request{}, ErrBadVersion},
	{"garbage", "\x00\xff", Request{}, ErrBadPayload},
	{"request number", `{"v":1,"request":1}`, Request{}, ErrBadPayload},
}

func TestParseRequest(t *testing.T) {
	for _, tc := range requestCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRequest([]byte(tc.payload))
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, tc := range requestCases {
		f.Add([]byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := ParseRequest(payload)
		if err != nil {
			return
		}
		if r.V != 1 || r.Request != RequestSnapshot {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// txCases: journal records and the uplink payload built from them.
var txCases = []struct {
	name   string
	depot  string
	seq    uint64
	raw    string
	replay bool
	want   string
	err    error
}{
	{"edge record (fast path)", "D1", 7, `{"id":"a-1","seq":7,"at":"2026-11-26T10:00:00+01:00","type":"receipt","station":"RCV-1","operator":"op7","lines":[]}`, false,
		`{"v":1,"depot":"D1","id":"a-1","seq":7,"at":"2026-11-26T10:00:00+01:00","type":"receipt","station":"RCV-1","operator":"op7","lines":[]}`, nil},
	{"replay", "D1", 7, `{"id":"a-1","seq":7,"lines":[]}`, true,
		`{"v":1,"depot":"D1","replay":true,"id":"a-1","seq":7,"lines":[]}`, nil},
	{"escaped id", "D1", 3, `{"id":"a\"b\\","seq":3}`, false, `{"v":1,"depot":"D1","id":"a\"b\\","seq":3}`, nil},
	{"seq mismatch rewritten", "D1", 8, `{"id":"a","seq":80,"x":1}`, false, `{"v":1,"depot":"D1","seq":8,"id":"a","x":1}`, nil},
	{"seq prefix of other", "D1", 8, `{"id":"a","seq":80}`, false, `{"v":1,"depot":"D1","seq":8,"id":"a"}`, nil},
	{"no seq", "D1", 2, `{"id":"a","type":"issue"}`, false, `{"v":1,"depot":"D1","seq":2,"id":"a","type":"issue"}`, nil},
	{"colliding keys replaced", "D1", 2, `{"id":"a","seq":2,"v":9,"depot":"X","replay":false}`, true,
		`{"v":1,"depot":"D1","replay":true,"seq":2,"id":"a"}`, nil},
	{"empty object", "D1", 1, `{}`, false, `{"v":1,"depot":"D1","seq":1}`, nil},
	{"unicode depot", "Dépôt\u2028", 1, `{"id":"x","seq":1}`, false, `{"v":1,"depot":"Dépôt\u2028","id":"x","seq":1}`, nil},
	{"not object", "D1", 1, `[1,2]`, false, "", ErrBadPayload},
	{"empty", "D1", 1, ``, false, "", ErrBadPayload},
	{"broken", "D1", 1, `{"id":"a","seq":2,"v":}`, false, "", ErrBadPayload},
}

func TestTx(t *testing.T) {
	for _, tc := range txCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Tx(nil, tc.depot, tc.seq, []byte(tc.raw), tc.replay)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON %s", got)
			}
		})
	}
}

// FuzzTx: whatever a journal record holds, an accepted one yields valid JSON whose
// envelope says v=1, the depot and the seq, each key exactly once.
func FuzzTx(f *testing.F) {
	for _, tc := range txCases {
		f.Add(tc.raw, tc.seq, tc.replay)
	}
	f.Fuzz(func(t *testing.T, raw string, seq uint64, replay bool) {
		if !json.Valid([]byte(raw)) {
			return // the journal stores marshalled JSON only
		}
		if _, dup := topKeys(raw); dup {
			return // nor objects with a key twice
		}
		got, err := Tx(nil, "D1", seq, []byte(raw), replay)
		if err != nil {
			return
		}
		if !json.Valid(got) {
			t.Fatalf("invalid JSON from %q: %s", raw, got)
		}
		var env struct {
			V      int    `json:"v"`
			Depot  string `json:"depot"`
			Seq    uint64 `json:"seq"`
			Replay bool   `json:"replay"`
		}
		if err := json.Unmarshal(got, &env); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if env.V != 1 || env.Depot != "D1" || env.Seq != seq || env.Replay != replay {
			t.Fatalf("envelope %+v from %q -> %s", env, raw, got)
		}
		if k, dup := topKeys(string(got)); dup {
			t.Fatalf("duplicate key %q in %s", k, got)
		}
	})
}

// topKeys reports the first top-level key that occurs twice in a JSON object.
func topKeys(s string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	keys := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := tok.(string)
		if keys[k] {
			return k, true
		}
		keys[k] = true
		var v json.RawMessage
		if dec.Decode(&v) != nil {
			return "", false
		}
	}
	return "", false
}
