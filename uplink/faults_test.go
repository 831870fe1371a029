package uplink_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpsim"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// A resend command from below what retention has kept starts at the oldest stored seq,
// says once that the older ones were pruned, and the connection carries on forwarding.
func TestResendBelowPrunedStartsAtOldestStored(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 40)
	startSim(t, b.URL(), func(s *erpsim.Sim) { s.AckEvery = 10 })
	rec := startRecorder(t, b.URL(), "depots/D1/tx")
	log, logs := captureLogger(t)
	r := startUplinkLog(t, uplink.Config{Brokers: []string{b.URL()}, StatusInterval: time.Hour}, j, log)
	waitFor(t, 20*time.Second, "drained", drained(j))

	// Retention prunes seqs 1..20: acknowledged, in the ERP's stock snapshot, old enough.
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 40}); err != nil {
		t.Fatal(err)
	}
	if res, err := j.Prune(time.Now().Add(time.Hour), 20); err != nil || res.UpTo != 20 {
		t.Fatalf("prune: %+v, %v", res, err)
	}
	// The uplink reads what the journal has checkpointed: wait until that lost them too.
	waitFor(t, 10*time.Second, "the pruning checkpointed", func() bool {
		first := uint64(0)
		j.ScanCheckpointed(context.Background(), 0, func(seq uint64, _ []byte) error { first = seq; return errStop })
		return first == 21
	})
	session := r.u.State().Session

	ops := mustClient(t, b.URL(), "ops")
	mustPublish(t, ops, "depots/D1/cmd", `{"v":1,"cmd":"resend","from_seq":5}`)
	waitFor(t, 10*time.Second, "21..40 resent", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for s := uint64(21); s <= 40; s++ {
			if rec.seqs[s] < 2 {
				return false
			}
		}
		return true
	})
	// The uplink keeps forwarding on the same connection.
	post(t, j, 40, 10)
	waitFor(t, 20*time.Second, "41..50 acked", func() bool { l, a := j.Positions(); return l == 50 && a == 50 })
	if s := r.u.State(); !s.Online || s.Session != session {
		t.Fatalf("state %+v: want online in session %d (no reconnect)", s, session)
	}
	if n := logs.count("pruned", "first_stored_seq=21"); n != 1 {
		t.Fatalf("%d log lines about the pruned seqs, want 1:\n%s", n, logs)
	}
}

// An ack above every seq this process has sent (yet within last_seq, so it is applied)
// acknowledges what the ERP cannot have received: it is logged, one Warn line, and not
// again for each repeat within the rate limit.
func TestAckBeyondSentIsLogged(t *testing.T) {
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	rec := startRecorder(t, b.URL(), "depots/D1/tx")
	log, logs := captureLogger(t)
	r := startUplinkLog(t, uplink.Config{Brokers: []string{b.URL()}, Inflight: 5, ResendAfter: time.Hour}, j, log)
	waitFor(t, 10*time.Second, "online", func() bool { return r.u.State().Online })
	post(t, j, 0, 40)
	waitFor(t, 10*time.Second, "the window of 5 sent", func() bool { return len(rec.missing(5)) == 0 })
	if rec.mu.Lock(); rec.seqs[6] != 0 {
		t.Fatal("seq 6 sent beyond the window")
	}
	rec.mu.Unlock()

	erp := mustClient(t, b.URL(), "erp")
	ack := func(upto uint64) {
		t.Helper()
		mustPublish(t, erp, "depots/D1/ack", `{"v":1,"upto_seq":`+itoa(int(upto))+`}`)
		waitFor(t, 10*time.Second, "ack "+itoa(int(upto))+" applied", func() bool { _, a := j.Positions(); return a == upto })
	}
	const line = "uplink ack beyond what was sent"
	ack(3) // within what was sent: silent
	if n := logs.count(line); n != 0 {
		t.Fatalf("ack 3 of 5 sent logged:\n%s", logs)
	}
	waitFor(t, 10*time.Second, "the window up to 8 sent", func() bool { return len(rec.missing(8)) == 0 })
	ack(15) // 9..15 never sent: applied, and logged
	if n := logs.count(line, "level=WARN", "upto_seq=15", "sent_max=8"); n != 1 {
		t.Fatalf("%d warnings for ack 15 with 8 sent, want 1:\n%s", n, logs)
	}
	waitFor(t, 10*time.Second, "the window 16..20 sent", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.seqs[20] > 0 })
	ack(30) // again beyond what was sent, within the rate limit: no second line
	if n := logs.count(line); n != 1 {
		t.Fatalf("%d warnings after a repeat, want 1 (rate-limited):\n%s", n, logs)
	}
}

// sessionClock wraps the journal to record when each session counter increment (one per
// CONNECT attempt) happens.
type sessionClock struct {
	*edge.Journal
	mu    sync.Mutex
	times []time.Time
}

func (s *sessionClock) NextSession() (uint64, error) {
	n, err := s.Journal.NextSession()
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.mu.Unlock()
	return n, err
}

func (s *sessionClock) attempts() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

// A broker that accepts CONNECT but refuses the depot's subscriptions (ACL) kills each
// session at once; the reconnect backoff must keep growing instead of restarting at 0.5s
// on every successful CONNECT, and each refusal is logged clearly.
func TestMosquittoRefusedSubscriptionBacksOff(t *testing.T) {
	// Anonymous clients may use every topic but subscribe to neither the ack nor the cmd
	// topic: mosquitto answers those filters with SUBACK 0x80.
	b := brokertest.StartMosquittoDynsec(t, `{
  "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": true, "unsubscribe": true},
  "clients": [],
  "groups": [{"groupname": "anon", "roles": [{"rolename": "depot"}]}],
  "roles": [{"rolename": "depot", "acls": [
    {"acltype": "subscribeLiteral", "topic": "depots/D1/ack", "allow": false, "priority": 1},
    {"acltype": "subscribeLiteral", "topic": "depots/D1/cmd", "allow": false, "priority": 1}]}],
  "anonymousGroup": "anon"
}`)
	sc := &sessionClock{Journal: mustJournal(t, "")}
	log, logs := captureLogger(t)
	startUplinkLog(t, uplink.Config{Brokers: []string{b.URL()}}, sc, log)

	// With the backoff doubling from 0.5s with jitter in [d/2, d), the k-th wait is at least
	// 0.25s·2^k; restarting the backoff on each CONNECT would keep every gap under 0.5s plus
	// a connection's short life.
	const gaps = 4
	waitFor(t, 60*time.Second, "5 connection attempts", func() bool { return len(sc.attempts()) > gaps })
	at := sc.attempts()
	for k := 0; k < gaps; k++ {
		gap, least := at[k+1].Sub(at[k]), 250*time.Millisecond<<k
		t.Logf("gap %d: %v", k, gap.Round(time.Millisecond))
		if gap < least {
			t.Errorf("attempt %d came %v after the one before, want ≥ %v: the backoff does not grow", k+2, gap.Round(time.Millisecond), least)
		}
	}
	// One line per connection: the attempt that made the 5th increment may not have had
	// its SUBACK yet, and later ones may have.
	n := logs.count("level=ERROR", "subscription refused", "depots/D1/ack")
	if later := len(sc.attempts()); n < len(at)-1 || n > later {
		t.Errorf("%d log lines about the refused subscription for %d..%d connections, want 1 per connection:\n%s", n, len(at)-1, later, logs)
	}
}

// The go-back-N timer runs from the send of the oldest unacknowledged transaction: after
// the watermark stood still through an idle spell, a new transaction waits resend_after
// for its ack before it is sent again.
func TestResendTimerStartsAtFirstSendAfterIdle(t *testing.T) {
	const resendAfter = time.Second
	b := brokertest.StartMochi(t)
	j := mustJournal(t, "")
	post(t, j, 0, 10)
	sim := startSim(t, b.URL(), nil)
	rec := startRecorder(t, b.URL(), "depots/D1/tx")
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}, ResendAfter: resendAfter}, j)
	waitFor(t, 20*time.Second, "drained", drained(j))
	lastAck := r.u.State().LastAckAt
	waitFor(t, 10*time.Second, "the watermark to stand still for 2×resend_after", func() bool { return time.Since(lastAck) > 2*resendAfter })

	sim.SetSilent(true) // the ack of seq 11 does not come
	post(t, j, 10, 1)
	waitFor(t, 20*time.Second, "seq 11 sent again", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.seqs[11] >= 2 })
	rec.mu.Lock()
	at := rec.arrived[11]
	rec.mu.Unlock()
	// The gap seen here is short of the real one by what the first send was delayed on the
	// way; half of resend_after leaves room for that and is far above the ~0 of a timer
	// that ran from the old watermark move.
	if gap := at[1].Sub(at[0]); gap < resendAfter/2 {
		t.Fatalf("seq 11 resent %v after its first send, want about resend_after (%v): the timer ran from the last watermark move", gap.Round(time.Millisecond), resendAfter)
	}
}

// A connection that stayed online longer than the healthy bound starts the backoff again
// from 0.5s: a broker restart after a long session is followed by a quick reconnect, even
// when failed attempts before that session had grown the backoff.
func TestMosquittoBackoffResetsAfterHealthyConnection(t *testing.T) {
	b := brokertest.StartMosquitto(t)
	b.Kill()
	sc := &sessionClock{Journal: mustJournal(t, "")}
	r := startUplink(t, uplink.Config{Brokers: []string{b.URL()}}, sc)
	// Four failed attempts: the waits after them are at least 0.25, 0.5, 1 and 2s, and
	// the backoff has reached 8s.
	waitFor(t, 30*time.Second, "4 failed connection attempts", func() bool { return len(sc.attempts()) >= 4 })
	b.Start()
	waitFor(t, 30*time.Second, "online", func() bool { return r.u.State().Online })
	waitFor(t, 30*time.Second, "online for longer than the healthy bound (10s)", func() bool {
		s := r.u.State()
		return s.Online && time.Since(s.Since) > 10*time.Second+500*time.Millisecond
	})
	n := len(sc.attempts())
	killed := time.Now()
	b.Kill()
	waitFor(t, 30*time.Second, "a reconnect attempt", func() bool { return len(sc.attempts()) > n })
	// Reset, the wait is under 0.5s; not reset, it would be at least 4s (half of 8s).
	if gap := sc.attempts()[n].Sub(killed); gap >= 4*time.Second {
		t.Fatalf("reconnect attempt %v after the broker died, after a healthy connection: the backoff was not reset", gap.Round(time.Millisecond))
	}
}
