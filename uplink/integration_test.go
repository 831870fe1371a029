package uplink_test

import (
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// A backlog posted while no broker exists drains completely once the broker appears.
func TestMosquittoOfflineBacklogDrains(t *testing.T) {
	const n = 50_000
	b := brokertest.StartMosquitto(t)
	b.Kill() // the broker "does not exist yet"
	j := mustJournal(t, "")
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, Inflight: 2000}, j)
	post(t, j, 0, n)
	if r.u.State().Online {
		t.Fatal("uplink online without a broker")
	}
	b.Start()
	sim := startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 500 })
	waitFor(t, 90*time.Second, "50,000 transactions acked", drained(j))
	if st := sim.Stats(depotID); st.Applied != n {
		t.Fatalf("ERP applied %d of %d: %+v", st.Applied, n, st)
	}
	if last, acked := j.Positions(); last != n || acked != n {
		t.Fatalf("positions last=%d acked=%d, want %d/%d", last, acked, n, n)
	}
}

// The broker is SIGKILLed and restarted (losing all its state) several times mid-drain:
// nothing is lost and the outbox empties once acks arrive.
func TestMosquittoKilledMidDrain(t *testing.T) {
	const n = 20_000
	b := brokertest.StartMosquitto(t)
	j := mustJournal(t, "")
	post(t, j, 0, n)
	sim := startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 200 })
	// The restarted broker has forgotten the ERP's subscription until the simulator
	// reconnects, so what the uplink resends at once may fall on deaf ears: a short
	// resend_after recovers it.
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, Inflight: 500, KeepAlive: 2 * time.Second, ResendAfter: time.Second}, j)
	for i, at := range []uint64{2_000, 6_000, 11_000} {
		waitFor(t, 60*time.Second, "drain progress", func() bool { _, a := j.Positions(); return a >= at })
		b.Kill()
		waitFor(t, 10*time.Second, "uplink noticing the dead broker", func() bool { return !r.u.State().Online })
		b.Start()
		t.Logf("kill %d at acked %d", i+1, at)
	}
	waitFor(t, 90*time.Second, "outbox empty", drained(j))
	st := sim.Stats(depotID)
	if st.Applied != n {
		t.Fatalf("ERP applied %d of %d: %+v", st.Applied, n, st)
	}
	t.Logf("ERP stats after 3 broker kills: %+v", st)
}

// The link is black-holed (a proxy stops forwarding without closing): the uplink notices
// within keepalive, reconnects and loses nothing.
func TestMosquittoBlackHole(t *testing.T) {
	const n = 5_000
	b := brokertest.StartMosquitto(t)
	p := brokertest.StartProxy(t, b.Addr())
	j := mustJournal(t, "")
	post(t, j, 0, n)
	sim := startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 50 })
	keepalive := 2 * time.Second
	r := startUplink(t, uplink.Config{Brokers: []string{p.URL()}, Inflight: 200, KeepAlive: keepalive}, j)
	waitFor(t, 30*time.Second, "drain progress", func() bool { _, a := j.Positions(); return a >= 1000 })
	since := r.u.State().Since
	if p.Freeze() == 0 {
		t.Fatal("no connection through the proxy to freeze")
	}
	frozenAt := time.Now()
	waitFor(t, 4*keepalive+10*time.Second, "uplink noticing the black hole", func() bool {
		s := r.u.State()
		return !s.Online || s.Since.After(since)
	})
	t.Logf("black hole noticed after %v (keepalive %v)", time.Since(frozenAt).Round(time.Millisecond), keepalive)
	waitFor(t, 60*time.Second, "outbox empty after reconnect", drained(j))
	if st := sim.Stats(depotID); st.Applied != n {
		t.Fatalf("ERP applied %d of %d: %+v", st.Applied, n, st)
	}
}

// child is the uplink running in its own process, so that the test can SIGKILL "depotd".
type child struct {
	cmd  *exec.Cmd
	done chan struct{}
	out  *strings.Builder
}

func startChild(t *testing.T, db, broker string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPLINK_TEST_CHILD=1", "UPLINK_TEST_DB="+db, "UPLINK_TEST_BROKER="+broker, "UPLINK_TEST_RESEND=1s")
	out := &strings.Builder{}
	var mu sync.Mutex
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{}), out: out}
	go func() { cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		c.signal(syscall.SIGKILL)
		if t.Failed() {
			mu.Lock()
			t.Logf("child %d stderr:\n%s", cmd.Process.Pid, out.String())
			mu.Unlock()
		}
	})
	return c
}

func (c *child) signal(sig syscall.Signal) {
	select {
	case <-c.done:
		return
	default:
	}
	c.cmd.Process.Signal(sig)
	<-c.done
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// depotd is SIGKILLed mid-drain: the Last Will marks it offline with the session it
// connected with; restarted, it resumes from the lowest unacknowledged seq; a clean stop
// publishes offline itself.
func TestDepotdKilledMidDrain(t *testing.T) {
	const n = 20_000
	b := brokertest.StartMosquitto(t)
	db := t.TempDir() + "/depotd.db"
	j := mustJournalNoCleanup(t, db)
	post(t, j, 0, n)
	j.Close()

	sim := startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 100 })
	rec := startRecorder(t, b.URL(), "depots/D1/status", "depots/D1/tx")
	c := startChild(t, db, b.URL())
	waitFor(t, 30*time.Second, "ERP progress", func() bool { return sim.Stats(depotID).Applied >= 3000 })
	// Silence the ERP so that no ack is queued for the depot's persistent session while
	// it is dead: the watermark read below is then exactly where the restart must resume.
	sim.SetSilent(true)
	waitFor(t, 10*time.Second, "acked watermark to settle in the status", func() bool {
		s1, ok := rec.lastStatus()
		if !ok || s1.AckedSeq == nil {
			return false
		}
		time.Sleep(500 * time.Millisecond)
		s2, _ := rec.lastStatus()
		return s2.AckedSeq != nil && *s2.AckedSeq == *s1.AckedSeq && s2.At != s1.At
	})
	st1, _ := rec.lastStatus()
	c.signal(syscall.SIGKILL)
	waitFor(t, 10*time.Second, "Last Will", func() bool {
		s, ok := rec.lastStatus()
		return ok && !s.Online
	})
	will, _ := rec.lastStatus()
	if will.Session != st1.Session || will.Session == 0 || will.Backlog != nil {
		t.Fatalf("Will = %+v; want online:false, session %d, no backlog", will, st1.Session)
	}

	j = mustJournalNoCleanup(t, db)
	_, watermark := j.Positions()
	j.Close()
	if watermark == 0 || watermark >= n {
		t.Fatalf("watermark %d after kill; want mid-drain", watermark)
	}
	// Messages of the killed process may still be on their way to the recorder: let it
	// settle, then count.
	rec.settle(t)
	rec.mu.Lock()
	atWatermark, aboveWatermark := rec.seqs[watermark], rec.seqs[watermark+1]
	rec.mu.Unlock()

	c = startChild(t, db, b.URL())
	// The restarted depotd resends from the lowest unacknowledged seq, and nothing below.
	waitFor(t, 20*time.Second, "seq watermark+1 sent again", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.seqs[watermark+1] > aboveWatermark
	})
	sim.SetSilent(false)
	waitFor(t, 60*time.Second, "ERP applied everything", func() bool { return sim.Stats(depotID).Applied == n })
	waitFor(t, 10*time.Second, "status with empty backlog", func() bool {
		s, ok := rec.lastStatus()
		return ok && s.Online && s.AckedSeq != nil && *s.AckedSeq == n && s.Session > will.Session
	})
	rec.mu.Lock()
	below := rec.seqs[watermark] - atWatermark
	rec.mu.Unlock()
	if below != 0 {
		t.Fatalf("seq %d (acked before the kill) sent %d more times after the restart", watermark, below)
	}
	c.signal(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "clean offline status", func() bool {
		s, ok := rec.lastStatus()
		return ok && !s.Online && s.Backlog != nil && *s.Backlog == 0
	})
	j = mustJournal(t, db)
	if last, acked := j.Positions(); last != n || acked != n {
		t.Fatalf("positions last=%d acked=%d", last, acked)
	}
}
