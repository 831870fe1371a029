package odoo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/shopspring/decimal"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
	"github.com/depotd/depotd/uplink/odoo"
	"github.com/depotd/depotd/uplink/odoo/odootest"
)

func (s *svcRun) online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.core != nil && s.core.Online()
}

func (s *svcRun) errors(depot string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return 0
	}
	return s.core.Stats(depot).Errors
}

func (s *svcRun) applied(depot string) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.core == nil {
		return 0
	}
	return s.core.Stats(depot).Applied
}

// checkOnceEach fails t unless Odoo holds exactly one key for every seq 1..n of the
// rig's depot, n movements of the rig's product in n pickings, onHand in <WH>/Stock and
// applied seq n, and the depot's backlog is 0.
func (r *e2eRig) checkOnceEach(n int, onHand decimal.Decimal) {
	r.t.Helper()
	keys, moves, pickings, got := r.odooCounts()
	if keys != n || moves != n || pickings != n || !got.Equal(onHand) || r.applied() != uint64(n) {
		r.t.Fatalf("Odoo holds %d keys, %d moves in %d pickings, %s on hand, applied seq %d; want %d each, %s, %d",
			keys, moves, pickings, got, r.applied(), n, onHand, n)
	}
	for seq := 1; seq <= n; seq++ {
		var ids []int
		if err := r.c.Call(context.Background(), "ir.model.data", "search", map[string]any{"domain": []any{
			[]any{"module", "=", odoo.Module}, []any{"name", "=", odoo.TxKey(r.depot.ID, uint64(seq))}}}, &ids); err != nil || len(ids) != 1 {
			r.t.Fatalf("seq %d: %d keys in Odoo (%v), want 1", seq, len(ids), err)
		}
	}
	if last, acked := r.j.Positions(); last != uint64(n) || acked != last {
		r.t.Fatalf("depot last %d acked %d: backlog %d, want 0", last, acked, last-acked)
	}
}

// checkSnapshotEqualsLedger waits for the connector's snapshot at the depot's last seq
// and then compares the depot's ledger (and its ERP side) with Odoo's quants, per item,
// location, lot and state.
func (r *e2eRig) checkSnapshotEqualsLedger(svc *svcRun, skus ...string) {
	r.t.Helper()
	last, _ := r.j.Positions()
	waitUntil(r.t, 2*time.Minute, fmt.Sprintf("a snapshot at seq %d", last), func() bool { return svc.stats(r.depot.ID).SnapshotSeq == last })
	want := r.odooQuants(skus...)
	waitUntil(r.t, time.Minute, "the depot's ERP side equal to Odoo's quants", func() bool { return sameStock(r.depotStock(true, skus...), want) })
	if got := r.depotStock(false, skus...); !sameStock(got, want) {
		r.t.Fatalf("depot ledger %s\nOdoo quants  %s", fmtStock(got), fmtStock(want))
	}
	r.t.Logf("after the snapshot at seq %d, depot = Odoo: %s", last, fmtStock(want))
}

// Odoo itself is SIGKILLed in the middle of a drain (a second Odoo server of the test's
// own on the shared database, so the shared server stays up) and started again: while it
// is down the connector retries and the depot's watermark does not pass what Odoo
// committed; after the restart every seq is in Odoo once, stock exact, the backlog 0 and
// the next snapshot equals the depot's ledger.
func TestOdooKilledAndRestartedMidDrainAcksNothingWhileDownAndLandsEachReceiptOnce(t *testing.T) {
	const n = 30
	r := newE2ERig(t)
	direct := r.c
	srv := odootest.StartServer(t, r.env)
	r.c = srv.Env().Client(t) // the connector's Odoo
	r.receipts(n, "1")
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 10, SnapshotInterval: time.Hour}, t.TempDir())
	r.c = direct // the test's own reads
	waitUntil(t, 3*time.Minute, "the drain under way", func() bool { return svc.applied(r.depot.ID) >= 6 })

	srv.Kill()
	killedAt := svc.applied(r.depot.ID)
	errs := svc.errors(r.depot.ID)
	waitUntil(t, time.Minute, "the connector retrying while Odoo is down", func() bool { return svc.errors(r.depot.ID) >= errs+2 })
	// An ack of what Odoo committed before it died may still be on its way; from here on
	// nothing is committed, so nothing more may be acknowledged.
	_, ackedDown := r.j.Positions()
	committed := r.applied()
	if ackedDown > committed {
		t.Fatalf("depot acked %d, beyond what Odoo committed (%d)", ackedDown, committed)
	}
	waitUntil(t, time.Minute, "more retries while Odoo is down", func() bool { return svc.errors(r.depot.ID) >= errs+4 })
	if _, a := r.j.Positions(); a != ackedDown || r.applied() != committed {
		t.Fatalf("while Odoo was down the depot's watermark moved %d → %d (Odoo applied %d → %d)", ackedDown, a, committed, r.applied())
	}
	if committed >= n {
		t.Fatalf("the drain was over before the kill (Odoo applied %d): the kill proves nothing", committed)
	}
	t.Logf("Odoo killed with the connector at %d; Odoo had committed %d, the depot acked %d of %d", killedAt, committed, ackedDown, n)

	restart := time.Now()
	srv.Start()
	waitUntil(t, 3*time.Minute, "every receipt acked after Odoo's restart", func() bool { _, a := r.j.Positions(); return a == n })
	t.Logf("after the restart the rest drained in %v (the connector retried %d times)", time.Since(restart).Round(time.Millisecond), svc.errors(r.depot.ID)-errs)
	r.checkOnceEach(n, decimal.NewFromInt(n))
	r.checkSnapshotEqualsLedger(svc, r.sku)
}

// mixedLoad commits n transactions into the rig's depot, in turn: a receipt of the rig's
// product, a receipt of lotted (a lot per three), and a move of one unit of the rig's
// product into quarantine.
func (r *e2eRig) mixedLoad(n int, lotted string) {
	r.t.Helper()
	stock := r.depot.Warehouse + "/Stock"
	last, _ := r.j.Positions()
	for i := int(last); i < int(last)+n; i++ {
		var tx edge.Transaction
		switch i % 3 {
		case 0:
			tx = edge.Transaction{Type: edge.Receipt, Lines: []edge.Line{{Item: r.sku, Qty: edge.MustQty("3"), UoM: "Units", To: stock}}}
		case 1:
			tx = edge.Transaction{Type: edge.Receipt, Lines: []edge.Line{{Item: lotted, Qty: edge.MustQty("2"), UoM: "Units", To: stock,
				Lot: fmt.Sprintf("L-%d", i/9)}}}
		case 2:
			tx = edge.Transaction{Type: edge.Transfer, Lines: []edge.Line{{Item: r.sku, Qty: edge.MustQty("1"), UoM: "Units",
				From: stock, To: stock, State: edge.Available, ToState: edge.Quarantine}}}
		}
		tx.ID = fmt.Sprintf("mix-%d", i)
		if _, _, err := r.j.Commit(context.Background(), tx); err != nil {
			r.t.Fatal(err)
		}
	}
}

// The broker (a real mosquitto with persistence) is SIGKILLed under the connector twice
// in the middle of a drain of receipts, lots and moves into quarantine, and started again
// on the same port: nothing is acknowledged while it is down, every seq lands in Odoo
// once, the backlog returns to 0, and the next stock snapshot makes the depot's ledger
// equal Odoo's quants per item, location, lot and state.
func TestTheBrokerKilledUnderTheConnectorMidDrainLosesNothingAndTheNextSnapshotEqualsTheLedger(t *testing.T) {
	const n = 30
	env := odootest.Need(t)
	r := newE2ERigOn(t, env, brokertest.StartMosquittoPersistent(t), uplink.TLSConfig{})
	// Batches of 2, so that the drain is still going at the second kill: with the default
	// 20, grouped receipts drained all 30 before it.
	r.batch = 2
	lotted := odootest.Unique("LOT")
	r.create("product.product", map[string]any{"name": "depotd e2e " + lotted, "default_code": lotted, "type": "consu", "is_storable": true, "tracking": "lot"})
	r.mixedLoad(n, lotted)
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 10, SnapshotInterval: time.Hour}, t.TempDir())
	for i, at := range []uint64{6, 16} {
		waitUntil(t, 3*time.Minute, fmt.Sprintf("the drain past %d", at), func() bool { return svc.applied(r.depot.ID) >= at })
		r.broker.Kill()
		waitUntil(t, time.Minute, "the connector noticing the dead broker", func() bool { return !svc.online() })
		_, acked := r.j.Positions()
		// What the connector had received goes on being posted while the broker is
		// down; none of it can be acknowledged until the broker is back.
		before := svc.applied(r.depot.ID)
		waitUntil(t, 3*time.Minute, "the connector posting while the broker is down", func() bool {
			return svc.applied(r.depot.ID) > before || svc.applied(r.depot.ID) == r.applied()
		})
		if _, a := r.j.Positions(); a != acked {
			t.Fatalf("the depot's watermark moved %d → %d while the broker was down", acked, a)
		}
		if committed := r.applied(); acked > committed {
			t.Fatalf("depot acked %d, beyond what Odoo committed (%d)", acked, committed)
		}
		t.Logf("broker kill %d: depot acked %d, connector at %d, Odoo %d", i+1, acked, svc.applied(r.depot.ID), r.applied())
		if acked >= n {
			t.Fatalf("the drain was over before kill %d: it proves nothing", i+1)
		}
		r.broker.Start()
		waitUntil(t, time.Minute, "the connector back on the broker", func() bool { return svc.online() })
	}
	waitUntil(t, 3*time.Minute, "every transaction acked after the broker's restarts", func() bool { _, a := r.j.Positions(); return a == n })
	keys, _, _, _ := r.odooCounts()
	if keys != n || r.applied() != n {
		t.Fatalf("Odoo holds %d keys, applied seq %d; want %d", keys, r.applied(), n)
	}
	for seq := 1; seq <= n; seq++ {
		var ids []int
		if err := r.c.Call(t.Context(), "ir.model.data", "search", map[string]any{"domain": []any{
			[]any{"module", "=", odoo.Module}, []any{"name", "=", odoo.TxKey(r.depot.ID, uint64(seq))}}}, &ids); err != nil || len(ids) != 1 {
			t.Fatalf("seq %d: %d keys in Odoo (%v), want 1", seq, len(ids), err)
		}
	}
	if last, acked := r.j.Positions(); acked != last {
		t.Fatalf("backlog %d after the drain", last-acked)
	}
	// 10 of each kind: 30 - 10 units of the product available and 10 in quarantine.
	want := map[string]decimal.Decimal{
		stockKey(r.sku, r.depot.Warehouse+"/Stock", "", edge.Available):  decimal.NewFromInt(20),
		stockKey(r.sku, r.depot.Warehouse+"/Stock", "", edge.Quarantine): decimal.NewFromInt(10),
	}
	if got := r.odooQuants(r.sku); !sameStock(got, want) {
		t.Fatalf("Odoo holds %s, want %s", fmtStock(got), fmtStock(want))
	}
	r.checkSnapshotEqualsLedger(svc, r.sku, lotted)
}

// tap is a plain MQTT client of the test's own on the rig's broker: it records the
// depot's tx payloads and the connector's acks as they pass, and publishes what the test
// injects.
type tap struct {
	c    mqtt.Client
	mu   sync.Mutex
	txs  map[uint64][]byte // seq → the depot's first payload
	acks []uint64          // upto_seq of every ack seen
}

func (r *e2eRig) startTap() *tap {
	r.t.Helper()
	tp := &tap{txs: map[uint64][]byte{}}
	tp.c = mqtt.NewClient(mqtt.NewClientOptions().AddBroker(r.broker.URL()).SetClientID(odootest.Unique("tap")))
	if tok := tp.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		r.t.Fatalf("tap connect: %v", tok.Error())
	}
	r.t.Cleanup(func() { tp.c.Disconnect(100) })
	prefix := "depots/" + r.depot.ID + "/"
	sub := func(topic string, h func([]byte)) {
		tok := tp.c.Subscribe(prefix+topic, 1, func(_ mqtt.Client, m mqtt.Message) { h(m.Payload()) })
		if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			r.t.Fatalf("tap subscribe %s: %v", topic, tok.Error())
		}
	}
	sub(uplink.TopicTx, func(p []byte) {
		var h struct {
			Seq    uint64 `json:"seq"`
			Replay bool   `json:"replay"`
		}
		if json.Unmarshal(p, &h) == nil && !h.Replay {
			tp.mu.Lock()
			if _, ok := tp.txs[h.Seq]; !ok {
				tp.txs[h.Seq] = append([]byte(nil), p...)
			}
			tp.mu.Unlock()
		}
	})
	sub(uplink.TopicAck, func(p []byte) {
		var a struct {
			Upto uint64 `json:"upto_seq"`
		}
		if json.Unmarshal(p, &a) == nil {
			tp.mu.Lock()
			tp.acks = append(tp.acks, a.Upto)
			tp.mu.Unlock()
		}
	})
	return tp
}

func (tp *tap) publish(t testing.TB, topic string, payload []byte) {
	t.Helper()
	if tok := tp.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// Against the real Odoo: the depot is told to resend from seq 1 (its replay:true
// resends of what Odoo already holds), and every tx message is published again as the
// broker or a restarted depot may repeat it (unmarked, twice, out of order, some while
// later seqs are being posted): nothing is posted twice, the connector's acks never pass
// the depot's last seq nor go back, and the depot's watermark ends at its last seq.
func TestResentReplayedAndDuplicatedTransactionsArePostedOnceAndTheWatermarkIsRight(t *testing.T) {
	const first, more = 6, 4
	r := newE2ERig(t)
	tp := r.startTap()
	r.receipts(first, "2")
	r.startUplink()
	svc := r.startDownService(odoo.DownlinkConfig{Poll: time.Second, SnapshotEvery: 1000, SnapshotInterval: time.Hour}, t.TempDir())
	waitUntil(t, 3*time.Minute, "the first receipts acked", func() bool { _, a := r.j.Positions(); return a == first })
	waitUntil(t, time.Minute, "the tap holding every first send", func() bool { tp.mu.Lock(); defer tp.mu.Unlock(); return len(tp.txs) == first })

	prefix := "depots/" + r.depot.ID + "/"
	stats := func() erpcore.Stats { svc.mu.Lock(); defer svc.mu.Unlock(); return svc.core.Stats(r.depot.ID) }
	before := stats()
	tp.publish(t, prefix+uplink.TopicCmd, []byte(`{"v":1,"cmd":"resend","from_seq":1}`))
	waitUntil(t, time.Minute, "the depot's replays of 1..6 received", func() bool { return stats().Replays >= before.Replays+first })

	// Every seq twice more, newest first, unmarked; then more receipts, each of which is
	// also published again right after the depot sent it.
	for range 2 {
		for seq := uint64(first); seq >= 1; seq-- {
			tp.mu.Lock()
			p := tp.txs[seq]
			tp.mu.Unlock()
			tp.publish(t, prefix+uplink.TopicTx, p)
		}
	}
	r.receipts(more, "2")
	for seq := uint64(first + 1); seq <= first+more; seq++ {
		waitUntil(t, time.Minute, fmt.Sprintf("seq %d sent by the depot", seq), func() bool { tp.mu.Lock(); defer tp.mu.Unlock(); return tp.txs[seq] != nil })
		tp.mu.Lock()
		p, p1 := tp.txs[seq], tp.txs[1]
		tp.mu.Unlock()
		tp.publish(t, prefix+uplink.TopicTx, p)
		tp.publish(t, prefix+uplink.TopicTx, p1)
	}
	const n = first + more
	waitUntil(t, 3*time.Minute, "every receipt acked", func() bool { _, a := r.j.Positions(); return a == n })
	// The duplicates are all in once the connector counted them (each is re-acked).
	waitUntil(t, time.Minute, "every duplicate seen by the connector", func() bool { return stats().Duplicates >= before.Duplicates+first+2*first+more })
	st := stats()
	t.Logf("connector stats after the replays and duplicates: %+v", st)
	if st.Applied != n {
		t.Fatalf("connector watermark %d, want %d", st.Applied, n)
	}
	r.checkOnceEach(n, decimal.NewFromInt(2*n))
	tp.mu.Lock()
	defer tp.mu.Unlock()
	high := uint64(0)
	for _, a := range tp.acks {
		if a > n || a < high {
			t.Fatalf("acks seen %v: one passes the last seq %d or goes back", tp.acks, n)
		}
		high = a
	}
	if high != n {
		t.Fatalf("the last ack says %d, want %d", high, n)
	}
}
