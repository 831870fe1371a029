package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
)

var readDroppedCases = []struct {
	name, in string
	n        int
	err      string
}{
	{"two and a blank line", `{"id":"a","seq":11,"type":"receipt","lines":[{"item":"X","qty":"1","to":"WH/Stock"}]}` + "\n\n" +
		`{"id":"b","seq":12,"type":"issue","lines":[{"item":"X","qty":"1","from":"WH/Stock","base_qty":"1","base_uom":"Units"}]}` + "\n", 2, ""},
	{"a void", `{"id":"","seq":13,"type":"void","ref":"restore r1","lines":[]}`, 1, ""},
	{"unknown field", `{"id":"a","type":"receipt","colour":"red","lines":[]}`, 0, `line 1: json: unknown field "colour"`},
	{"trailing data", `{"id":"a","type":"receipt","lines":[]} {}`, 0, "line 1: trailing data"},
	{"no id", "\n" + `{"type":"receipt","lines":[]}`, 0, "line 2: a receipt without an id"},
	{"not json", `seq 11 receipt`, 0, "line 1: invalid character"},
	{"bad qty", `{"id":"a","type":"receipt","lines":[{"item":"X","qty":"1,5"}]}`, 0, "line 1:"},
}

func TestReadDroppedReadsAnExportWholeOrNothingNamingTheBadLine(t *testing.T) {
	for _, c := range readDroppedCases {
		t.Run(c.name, func(t *testing.T) {
			txs, err := edge.ReadDropped(strings.NewReader(c.in))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || txs != nil {
					t.Fatalf("got %d, %v; want nothing and %q", len(txs), err, c.err)
				}
				return
			}
			if err != nil || len(txs) != c.n {
				t.Fatalf("got %d, %v; want %d", len(txs), err, c.n)
			}
		})
	}
}

func FuzzReadDropped(f *testing.F) {
	for _, c := range readDroppedCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		txs, err := edge.ReadDropped(strings.NewReader(s))
		if err != nil {
			return
		}
		// What it read, written back as an export, reads the same.
		var b strings.Builder
		for _, tx := range txs {
			raw, err := json.Marshal(tx)
			if err != nil {
				t.Fatal(err)
			}
			b.Write(raw)
			b.WriteByte('\n')
		}
		again, err := edge.ReadDropped(strings.NewReader(b.String()))
		if err != nil || len(again) != len(txs) {
			t.Fatalf("%q read as %d, its re-export as %d (%v)", s, len(txs), len(again), err)
		}
	})
}

func TestRepostDroppedPostsEachOnceSkipsVoidsAndReportsRefusals(t *testing.T) {
	j := openWithMaster(t, edge.MasterData{Items: []edge.Item{{SKU: "VACCINE", Tracking: "lot"}}})
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	long := strings.Repeat("é", 1500) // a note that no longer fits with the re-post's own
	dropped := []edge.Transaction{
		{ID: "r1", Seq: 11, At: &at, Type: edge.Receipt, Ref: "PO-1", Operator: "alice", Station: "dock", Note: long,
			Lines: []edge.Line{{Item: "X", Qty: edge.MustQty("2"), To: "WH/Stock", BaseQty: ptr(edge.MustQty("999")), BaseUoM: "Units"}}},
		{Seq: 12, Type: edge.Void, Ref: "restore r0"},
		{ID: "r2", Seq: 13, Type: edge.Receipt, Lines: []edge.Line{{Item: "VACCINE", Qty: edge.MustQty("1"), To: "WH/Stock"}}},
		{ID: strings.Repeat("k", 128), Seq: 14, Type: edge.Issue, Lines: []edge.Line{{Item: "X", Qty: edge.MustQty("1"), From: "WH/Stock"}}},
		{ID: "c1", Seq: 15, Type: edge.Count, Lines: []edge.Line{{Item: "X", Qty: edge.MustQty("5"), To: "WH/Stock", Delta: ptr(edge.MustQty("42"))}}},
	}
	out, err := j.RepostDropped(context.Background(), dropped)
	if err != nil || len(out) != 5 {
		t.Fatalf("repost: %d outcomes, %v", len(out), err)
	}
	if out[0].Seq != 1 || out[0].Existing || out[0].Err != nil {
		t.Errorf("r1: %+v", out[0])
	}
	if out[1].Skipped == "" || out[1].Seq != 0 {
		t.Errorf("the void was not skipped: %+v", out[1])
	}
	var fe *edge.FieldError
	if !errors.As(out[2].Err, &fe) || fe.Field != "lines[0].lot" {
		t.Errorf("r2 (VACCINE without its lot): %+v, want refused on lines[0].lot", out[2])
	}
	if out[3].Seq != 2 || len(edge.RepostID(dropped[3])) > 128 {
		t.Errorf("long id: %+v, id %q", out[3], edge.RepostID(dropped[3]))
	}
	if out[4].Seq != 3 {
		t.Errorf("count: %+v", out[4])
	}
	tx, err := j.Get(1)
	if err != nil || tx.ID != "repost-r1" || tx.Ref != "PO-1" || tx.Operator != "alice" || tx.Station != "dock" ||
		tx.Lines[0].BaseQty.String() != "2" || len(tx.Note) > 2000 ||
		!strings.HasPrefix(tx.Note, "re-posted: seq 11 (id r1) was dropped by a forced restore, first committed 2026-12-01T09:30:00Z; éé") {
		t.Errorf("re-post of r1: %+v %v", tx, err)
	}
	// The count counts again against today's stock (2 received, 1 issued): its delta is
	// the journal's, not the exported one.
	if c, _ := j.Get(3); c.Lines[0].Delta == nil || c.Lines[0].Delta.String() != "4" {
		t.Errorf("re-posted count's delta %v, want 4", c.Lines[0].Delta)
	}
	again, err := j.RepostDropped(context.Background(), dropped)
	if err != nil || !again[0].Existing || again[0].Seq != 1 || !again[3].Existing || !again[4].Existing {
		t.Fatalf("second repost: %+v %v", again, err)
	}
	if last, _ := j.Positions(); last != 3 {
		t.Fatalf("second repost committed: last seq %d", last)
	}
}

func ptr[T any](v T) *T { return &v }
