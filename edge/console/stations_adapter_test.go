package console_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
)

// managerStatus and managerEvent have the shape (JSON names) of the station package's
// Status and Event, which StationsFrom reads.
type managerStatus struct {
	Name         string `json:"name"`
	Mode         string `json:"mode"`
	Operator     string `json:"operator,omitempty"`
	OperatorName string `json:"operator_name,omitempty"`
	Document     *struct {
		Type    string      `json:"type"`
		Ref     string      `json:"ref,omitempty"`
		Lines   []edge.Line `json:"lines"`
		Pending *struct {
			Item string `json:"item"`
		} `json:"pending,omitempty"`
	} `json:"document"`
	Last *struct {
		At      time.Time `json:"at"`
		Scan    string    `json:"scan"`
		Result  string    `json:"result"`
		Message string    `json:"message"`
	} `json:"last"`
}

type managerEvent struct {
	Station string        `json:"station"`
	Scan    string        `json:"scan"`
	Result  string        `json:"result"`
	Status  managerStatus `json:"status"`
}

func TestStationsFrom(t *testing.T) {
	st := managerStatus{Name: "dock-1", Mode: "receive", Operator: "B-100", OperatorName: "Olivia"}
	st.Document = &struct {
		Type    string      `json:"type"`
		Ref     string      `json:"ref,omitempty"`
		Lines   []edge.Line `json:"lines"`
		Pending *struct {
			Item string `json:"item"`
		} `json:"pending,omitempty"`
	}{Type: "receipt", Ref: "PO0042", Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("12"), UoM: "Units", Lot: "L1"}}}
	st.Document.Pending = &struct {
		Item string `json:"item"`
	}{"SKU-2"}
	events := make(chan managerEvent, 4)
	var stopped atomic.Bool
	src := console.StationsFrom(func() []managerStatus { return []managerStatus{st, {Name: "dock-2", Mode: "issue"}} },
		func(buf int) (<-chan managerEvent, func()) { return events, func() { stopped.Store(true) } })
	list := src.Stations()
	if len(list) != 2 {
		t.Fatalf("stations %+v", list)
	}
	a, b := list[0], list[1]
	if a.Name != "dock-1" || a.Operator != "Olivia" || a.Document == nil || a.Document.Ref != "PO0042" ||
		len(a.Document.Lines) != 1 || a.Document.Lines[0].Qty != "12" || a.Next != "the lot, serial or expiry of SKU-2" {
		t.Fatalf("dock-1 view %+v (doc %+v)", a, a.Document)
	}
	if b.Operator != "" || b.Next != "scan your badge" || b.Document != nil {
		t.Fatalf("dock-2 view %+v", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := src.Subscribe(ctx)
	ev := managerEvent{Station: "dock-2", Scan: "X", Result: "prompt", Status: managerStatus{Name: "dock-2", Mode: "issue", Operator: "B-7"}}
	ev.Status.Last = &struct {
		At      time.Time `json:"at"`
		Scan    string    `json:"scan"`
		Result  string    `json:"result"`
		Message string    `json:"message"`
	}{Scan: "X", Result: "prompt", Message: "scan the location"}
	events <- ev
	select {
	case v := <-ch:
		if v.Name != "dock-2" || v.Operator != "B-7" || v.Last == nil || v.Last.Result != "prompt" || v.Next != "scan the location" {
			t.Fatalf("event view %+v", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no view from the event")
	}
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Fatal("view after cancel")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("channel not closed after cancel")
	}
	if !stopped.Load() {
		t.Fatal("the manager subscription was not ended")
	}
}

func TestUplinkFrom(t *testing.T) {
	// The shape of uplink.State.
	type state struct {
		Online    bool
		Since     time.Time
		Broker    string
		Session   uint64
		LastAckAt time.Time
		LastError string
		Other     int
	}
	since := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	u := console.UplinkFrom(func() state {
		return state{Online: true, Since: since, Broker: "tcp://b:1883", Session: 7, LastAckAt: since.Add(time.Minute), LastError: "x", Other: 3}
	}).UplinkStatus()
	want := console.UplinkView{Online: true, Since: since, Broker: "tcp://b:1883", Session: 7, LastAckAt: since.Add(time.Minute), LastError: "x"}
	if u != want {
		t.Fatalf("got %+v\nwant %+v", u, want)
	}
	if v := console.UplinkFrom(func() *state { return nil }).UplinkStatus(); v != (console.UplinkView{}) {
		t.Fatalf("nil state: %+v", v)
	}
}

// TestStationLineCarriesExpectedAndProgress proves the station screen's "5/12": a line's
// expected quantity reaches the view through StationsFrom, and Progress compares the
// scanned quantity with it exactly (decimals, not text).
func TestStationLineCarriesExpectedAndProgress(t *testing.T) {
	exp := edge.MustQty("12")
	st := managerStatus{Name: "dock-1", Mode: "receive", Operator: "B-100"}
	st.Document = &struct {
		Type    string      `json:"type"`
		Ref     string      `json:"ref,omitempty"`
		Lines   []edge.Line `json:"lines"`
		Pending *struct {
			Item string `json:"item"`
		} `json:"pending,omitempty"`
	}{Type: "receipt", Ref: "PO0042", Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("5"), Expected: &exp}, {Item: "SKU-2", Qty: edge.MustQty("1")}}}
	src := console.StationsFrom(func() []managerStatus { return []managerStatus{st} },
		func(int) (<-chan managerEvent, func()) { return make(chan managerEvent), func() {} })
	doc := src.Stations()[0].Document
	if !doc.Expects() || doc.Lines[0].Expected != "12" || doc.Lines[0].Progress() != "short" || doc.Lines[1].Progress() != "" {
		t.Fatalf("document view %+v", doc)
	}
	for _, c := range []struct{ qty, expected, want string }{
		{"5", "12", "short"}, {"12", "12", "complete"}, {"12.000", "12", "complete"}, {"2.50", "2.5", "complete"},
		{"13", "12", "over"}, {"9", "10", "short"}, {"1", "", ""}, {"x", "12", ""},
	} {
		if got := (console.DocLineView{Qty: c.qty, Expected: c.expected}).Progress(); got != c.want {
			t.Errorf("%s against %q: %q, want %q", c.qty, c.expected, got, c.want)
		}
	}
	if (console.DocumentView{Lines: []console.DocLineView{{Qty: "1"}}}).Expects() {
		t.Error("a document without expected quantities expects some")
	}
}
