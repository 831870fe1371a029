package uplink

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fleetCases is a sequence of status messages applied in order to one Fleet; each states
// the outcome. Shared with the FuzzFleetUpdate seeds.
var fleetCases = []struct {
	name    string
	topic   string
	payload string
	changed bool
	err     error
	online  bool // D1's online after the step
	backlog string
}{
	{"first online", "depots/D1/status", `{"v":1,"depot":"D1","online":true,"session":4,"backlog":12,"oldest_pending_s":3.5,"last_seq":40,"acked_seq":28,"at":"2026-11-26T10:00:00Z"}`, true, nil, true, "12"},
	{"will of session 4", "depots/D1/status", `{"v":1,"depot":"D1","online":false,"session":4,"at":"2026-11-26T09:59:00Z"}`, true, nil, false, "12"},
	{"reconnect session 5", "depots/D1/status", `{"v":1,"depot":"D1","online":true,"session":5,"backlog":0,"at":"2026-11-26T10:01:00Z"}`, true, nil, true, "0"},
	{"late will of session 4", "depots/D1/status", `{"v":1,"depot":"D1","online":false,"session":4,"at":"2026-11-26T09:59:00Z"}`, false, nil, true, "0"},
	{"v2 refused", "depots/D1/status", `{"v":2,"depot":"D1","online":false,"session":9}`, false, ErrBadVersion, true, "0"},
	{"depot mismatch", "depots/D1/status", `{"v":1,"depot":"D2","online":false,"session":9}`, false, ErrInvalid, true, "0"},
	{"garbage", "depots/D1/status", `{"v":1,"online":"yes"`, false, ErrBadPayload, true, "0"},
	{"wrong topic", "depots/D1/tx", `{"v":1}`, false, ErrInvalid, true, "0"},
	{"other depot", "depots/D2/status", `{"v":1,"depot":"D2","online":true,"session":1,"backlog":7}`, true, nil, true, "0"},
	{"clean shutdown", "depots/D1/status", `{"v":1,"depot":"D1","online":false,"session":5,"backlog":0,"at":"2026-11-26T10:02:00Z"}`, true, nil, false, "0"},
	{"cleared retained", "depots/D2/status", ``, true, nil, false, "0"},
}

func TestFleetUpdate(t *testing.T) {
	f := NewFleet("depots/")
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, tc := range fleetCases {
		_, changed, err := f.Update(tc.topic, []byte(tc.payload), now)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Fatalf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
		if changed != tc.changed {
			t.Fatalf("%s: changed = %v, want %v", tc.name, changed, tc.changed)
		}
		rows := f.Rows()
		var d1 *FleetRow
		for i := range rows {
			if rows[i].Depot == "D1" {
				d1 = &rows[i]
			}
		}
		if d1 == nil || d1.Online != tc.online || d1.Backlog == nil || itoa(*d1.Backlog) != tc.backlog {
			t.Fatalf("%s: D1 row %+v, want online=%v backlog=%s", tc.name, d1, tc.online, tc.backlog)
		}
	}
	if rows := f.Rows(); len(rows) != 1 {
		t.Fatalf("rows %+v, want only D1 after D2's status was cleared", rows)
	}
	table := FormatTable(f.Rows(), now.Add(3*time.Second))
	if !strings.Contains(table, "D1") || !strings.Contains(table, "3s ago") || strings.Count(table, "\n") != 2 {
		t.Fatalf("table:\n%s", table)
	}
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

func FuzzFleetUpdate(f *testing.F) {
	for _, tc := range fleetCases {
		f.Add(tc.topic, []byte(tc.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fl := NewFleet("depots/")
		fl.Update("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":true,"session":5}`), time.Now())
		row, changed, err := fl.Update(topic, payload, time.Now())
		if err != nil && changed {
			t.Fatal("changed with an error")
		}
		if changed && len(payload) > 0 && row.Depot == "D1" && row.Session < 5 {
			t.Fatalf("stale session accepted: %+v", row)
		}
		_ = FormatTable(fl.Rows(), time.Now())
	})
}
