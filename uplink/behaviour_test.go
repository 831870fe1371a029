package uplink_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// While the ERP is silent the uplink resends from the watermark (go-back-N, replay:true),
// backing off so the broker is not flooded; when the ERP comes back all is applied.
func TestGoBackNBacksOffWhileERPSilent(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 300)
	sim := startSim(t, b.URL(), nil)
	sim.SetSilent(true)
	rec := startRecorder(t, b.URL(), "depots/D1/tx")
	startUplink(t, uplink.Config{Brokers: []string{b.URL()}, Inflight: 100, ResendAfter: 100 * time.Millisecond}, j)

	// Every resend starts at the watermark, seq 1. With the delay doubling from 100ms,
	// resends happen near 0.1, 0.3, 0.7, 1.5, 3.1s: waiting for the 4th proves the timer
	// fires again and again, and fewer than 8 in that time proves it backs off (a fixed
	// 100ms timer would have sent about 15).
	start := time.Now()
	waitFor(t, 20*time.Second, "4 go-back-N rounds", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.seqs[1] >= 5 // first send + 4 resends
	})
	elapsed := time.Since(start)
	rec.mu.Lock()
	rounds, replays, seen301 := rec.seqs[1]-1, rec.replays, rec.seqs[101]
	rec.mu.Unlock()
	if seen301 != 0 {
		t.Fatalf("seq 101 sent while the window of 100 was unacknowledged")
	}
	if replays < (rounds-1)*100 {
		t.Fatalf("%d replay-marked messages for %d complete rounds of 100", replays, rounds-1)
	}
	if elapsed < 1400*time.Millisecond {
		t.Fatalf("4 resend rounds within %v: the resend timer does not back off", elapsed)
	}
	sim.SetSilent(false)
	waitFor(t, 60*time.Second, "drained after the ERP returns", drained(j))
	if st := sim.Stats(depotID); st.Applied != 300 || st.Replays == 0 {
		t.Fatalf("ERP stats %+v", st)
	}
}

type devs struct{}

func (devs) DeviceStates() []uplink.DeviceStatus {
	return []uplink.DeviceStatus{{Name: "scanner-1", State: "connected"}, {Name: "scale-1", State: "disconnected"}}
}

// The retained status says online with session, counters, devices and disk use; a clean
// stop publishes offline itself; the next run has the next session.
func TestStatusRetainedAndCleanShutdown(t *testing.T) {
	b := brokertest.StartMosquitto(t)
	j := mustJournal(t, "")
	post(t, j, 0, 10)
	rec := startRecorder(t, b.URL(), "depots/D1/status")
	cfg := uplink.Config{Brokers: []string{b.URL()}, StatusInterval: 200 * time.Millisecond}
	u, err := uplink.New(cfg, depotID, j, devs{}, testLogger(t), uplink.WithVersion("v9.9.9"), uplink.WithDataDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	r := runUplink(t, u)
	waitFor(t, 10*time.Second, "online status", func() bool { s, ok := rec.lastStatus(); return ok && s.Online })
	s, _ := rec.lastStatus()
	if s.V != 1 || s.Depot != depotID || s.Session != 1 || s.Backlog == nil || *s.Backlog != 10 || s.LastSeq == nil || *s.LastSeq != 10 ||
		s.AckedSeq == nil || *s.AckedSeq != 0 || s.OldestPendingS == nil || s.DiskUsedPct == nil || *s.DiskUsedPct <= 0 ||
		len(s.Devices) != 2 || s.Devices[1].State != "disconnected" || s.Version != "v9.9.9" {
		t.Fatalf("status %+v", s)
	}
	if _, err := time.Parse(time.RFC3339, s.At); err != nil {
		t.Fatalf("at %q: %v", s.At, err)
	}
	n := len(rec.statuses)
	waitFor(t, 10*time.Second, "periodic status", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.statuses) >= n+2 })
	r.stop(t)

	// A subscriber arriving later gets the retained offline status of the clean stop.
	late := startRecorder(t, b.URL(), "depots/D1/status")
	waitFor(t, 10*time.Second, "retained offline", func() bool {
		s, ok := late.lastStatus()
		return ok && !s.Online && s.Session == 1 && s.Backlog != nil
	})
	r = runUplink(t, u)
	waitFor(t, 10*time.Second, "next session online", func() bool { s, ok := late.lastStatus(); return ok && s.Online && s.Session == 2 })
	r.stop(t)
}

func runUplink(t *testing.T, u *uplink.Uplink) *running {
	ctx, cancel := contextWithCancel()
	r := &running{u: u, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// cmd resend makes the uplink send again from the given seq with replay:true; cmd status
// makes it publish its status at once.
func TestCommands(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 40)
	startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 10 })
	rec := startRecorder(t, b.URL(), "depots/D1/tx", "depots/D1/status")
	startUplink(t, uplink.Config{Brokers: []string{b.URL()}, StatusInterval: time.Hour}, j)
	waitFor(t, 20*time.Second, "drained", drained(j))
	c := mustClient(t, b.URL(), "ops")
	rec.mu.Lock()
	before := len(rec.statuses)
	rec.mu.Unlock()
	mustPublish(t, c, "depots/D1/cmd", `{"v":1,"cmd":"resend","from_seq":35}`)
	waitFor(t, 10*time.Second, "resent 35..40", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for s := uint64(35); s <= 40; s++ {
			if rec.seqs[s] < 2 {
				return false
			}
		}
		return true
	})
	rec.mu.Lock()
	if rec.seqs[34] != 1 {
		t.Errorf("seq 34 sent %d times, want once", rec.seqs[34])
	}
	var lastReplay bool
	for i := len(rec.raw) - 1; i >= 0; i-- {
		var h struct {
			Seq    uint64 `json:"seq"`
			Replay bool   `json:"replay"`
		}
		if json.Unmarshal(rec.raw[i], &h) == nil && h.Seq == 40 {
			lastReplay = h.Replay
			break
		}
	}
	rec.mu.Unlock()
	if !lastReplay {
		t.Error("resent seq 40 not marked replay:true")
	}
	mustPublish(t, c, "depots/D1/cmd", `{"v":1,"cmd":"status"}`)
	waitFor(t, 10*time.Second, "status on request", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.statuses) > before })
}

// With the first broker dead, the uplink fails over to the next one.
func TestBrokerFailover(t *testing.T) {
	b := brokertest.StartMochi(t)
	dead := "tcp://127.0.0.1:" + itoa(brokertest.FreePort(t))
	j := mustJournal(t, "")
	post(t, j, 0, 20)
	startSim(t, b.URL(), nil)
	r := startUplink(t, uplink.Config{Brokers: []string{dead, b.URL()}}, j)
	waitFor(t, 20*time.Second, "drained through the second broker", drained(j))
	if got := r.u.State().Broker; got != b.URL() {
		t.Fatalf("broker %q, want %q", got, b.URL())
	}
}

// The uplink and the ERP work over MQTT on WebSocket (ws://).
func TestWebSocket(t *testing.T) {
	url := brokertest.StartMochiWS(t)
	j := mustJournal(t, "")
	post(t, j, 0, 200)
	startSim(t, url, nil)
	startUplink(t, uplink.Config{Brokers: []string{url}}, j)
	waitFor(t, 20*time.Second, "drained over WebSocket", drained(j))
}
