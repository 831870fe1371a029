package uplink

import (
	"encoding/json"
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
	f.Add("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":true,"session":6,"erp_lag_s":3,"open_exceptions":1,"open_rejections":1,"status_interval_s":0.5,"devices":[{"name":"a","state":"error"}],"at":"2026-12-03T10:00:00Z"}`))
	f.Add("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":true,"session":7,"backlog":2,"sync":{"window_d":30,"classes":{"A":{"latency_p50_s":120,"latency_p95_s":9720,"adjustments_per_item_week":0.259,"counts":46,"discrepancy_rate":0.304}},"exceptions":{"count_discrepancy":{"open":3,"oldest_open_s":3600}}},"at":"2026-12-03T10:00:00Z"}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fl := NewFleet("depots/")
		fl.Update("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":true,"session":5}`), time.Now())
		row, changed, err := fl.UpdateMessage(topic, payload, len(payload)%2 == 0, time.Now())
		for _, r := range fl.RowsAt(time.Now().Add(time.Hour)) {
			if r.Online && r.Stale {
				t.Fatalf("online and stale: %+v", r)
			}
		}
		if err != nil && changed {
			t.Fatal("changed with an error")
		}
		if changed && len(payload) > 0 && row.Depot == "D1" && row.Session < 5 {
			t.Fatalf("stale session accepted: %+v", row)
		}
		_ = FormatTable(fl.Rows(), time.Now())
	})
}

// A depot that died with its NATS node leaves no Will: its last status says online. Past
// 3× its status interval (its own, or the fleet's default for an old depot that does not
// say it) RowsAt shows it stale and offline, and the table says "stale".
func TestASilentDepotCountsAsOfflineAfterThreeStatusIntervals(t *testing.T) {
	f := NewFleet("depots/")
	f.SetStatusInterval(10 * time.Second)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	for _, m := range []string{
		`{"v":1,"depot":"NEW","online":true,"session":1,"backlog":0,"status_interval_s":2,"at":"2026-12-03T10:00:00Z"}`,
		`{"v":1,"depot":"OLD","online":true,"session":1,"backlog":0,"at":"2026-12-03T10:00:00Z"}`,
	} {
		var s Status
		if err := json.Unmarshal([]byte(m), &s); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.Update("depots/"+s.Depot+"/status", []byte(m), t0); err != nil {
			t.Fatal(err)
		}
	}
	state := func(at time.Time) map[string]string {
		out := map[string]string{}
		for _, r := range f.RowsAt(at) {
			switch {
			case r.Online:
				out[r.Depot] = "online"
			case r.Stale:
				out[r.Depot] = "stale"
			default:
				out[r.Depot] = "offline"
			}
		}
		return out
	}
	for _, c := range []struct {
		after    time.Duration
		new, old string
	}{{6 * time.Second, "online", "online"}, {7 * time.Second, "stale", "online"}, {30 * time.Second, "stale", "online"}, {31 * time.Second, "stale", "stale"}} {
		if got := state(t0.Add(c.after)); got["NEW"] != c.new || got["OLD"] != c.old {
			t.Errorf("after %v: %v, want NEW %s, OLD %s", c.after, got, c.new, c.old)
		}
	}
	if table := FormatTable(f.RowsAt(t0.Add(time.Minute)), t0.Add(time.Minute)); strings.Count(table, " stale ") != 2 {
		t.Errorf("table does not say stale twice:\n%s", table)
	}
}

// A retained status is as old as its "at", not its delivery: subscribing after a depot
// died with its node finds it stale at once. A live message, or a depot clock ahead of
// ours, counts from the delivery.
func TestARetainedStatusIsAsOldAsItsAtNotItsDelivery(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 10, 0, 0, time.UTC)
	msg := []byte(`{"v":1,"depot":"D1","online":true,"session":3,"backlog":0,"status_interval_s":60,"at":"2026-12-03T10:00:00Z"}`)
	for _, c := range []struct {
		retained bool
		now      time.Time
		stale    bool
	}{{true, now, true}, {false, now, false}, {true, time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC), false}} {
		f := NewFleet("depots/")
		if _, _, err := f.UpdateMessage("depots/D1/status", msg, c.retained, c.now); err != nil {
			t.Fatal(err)
		}
		if r := f.RowsAt(c.now)[0]; r.Stale != c.stale {
			t.Errorf("retained=%v at %v: stale=%v, want %v (last seen %v)", c.retained, c.now, r.Stale, c.stale, r.LastSeen)
		}
	}
}

// The devices of a full status give devices down; a Will keeps the last known figures.
func TestDevicesDownCountsDevicesNotConnectedAndAWillKeepsTheFigures(t *testing.T) {
	f := NewFleet("depots/")
	now := time.Now()
	full := `{"v":1,"depot":"D1","online":true,"session":2,"backlog":5,"erp_lag_s":7.5,"open_exceptions":3,"open_rejections":1,` +
		`"devices":[{"name":"a","state":"connected"},{"name":"b","state":"disconnected"},{"name":"c","state":"error"}],"at":"2026-12-03T10:00:00Z"}`
	if _, _, err := f.Update("depots/D1/status", []byte(full), now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Update("depots/D1/status", []byte(`{"v":1,"depot":"D1","online":false,"session":2,"at":"2026-12-03T10:00:00Z"}`), now); err != nil {
		t.Fatal(err)
	}
	r := f.Rows()[0]
	if r.Online || r.DevicesDown == nil || *r.DevicesDown != 2 || *r.OpenExceptions != 3 || *r.OpenRejections != 1 || *r.ERPLagS != 7.5 || *r.Backlog != 5 {
		t.Fatalf("row %+v", r)
	}
}
