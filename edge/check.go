package edge

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Check verifies the database: bbolt's own page consistency, gap-free seqs above pruned_seq
// (a seq a restore skipped holds a void, which has no id and no lines) that agree with the id index and
// last_seq, nothing pruned that the ERP has not acknowledged and snapshotted, and a ledger
// equal to the ERP snapshot plus a replay of the journal. It returns every problem found
// (nil when consistent). It runs between group commits, which wait for it: use it offline
// or on small databases.
func (j *Journal) Check() []string {
	var problems []string
	add := func(format string, args ...any) {
		if len(problems) < 100 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	err := j.inspect(func(btx *bolt.Tx) error {
		for err := range btx.Check() {
			add("bbolt: %v", err)
		}
		m := btx.Bucket(bucketMeta)
		last, acked := getU64(m.Get(keyLastSeq)), getU64(m.Get(keyAckedSeq))
		if acked > last {
			add("acked_seq %d is beyond last_seq %d", acked, last)
		}
		pruned := getU64(m.Get(keyPrunedSeq))
		if pruned > acked || pruned > getU64(m.Get(keyAppliedSeq)) {
			add("pruned_seq %d is beyond acked_seq %d or applied_seq %d", pruned, acked, getU64(m.Get(keyAppliedSeq)))
		}
		expect := pruned + 1
		ids := map[string]uint64{}
		err := btx.Bucket(bucketTx).ForEach(func(k, v []byte) error {
			seq := getU64(k)
			if seq != expect {
				add("seq gap: expected %d, found %d", expect, seq)
			}
			expect = seq + 1
			var t Transaction
			if err := json.Unmarshal(v, &t); err != nil {
				add("seq %d: %v", seq, err)
				return nil
			}
			if t.Seq != seq {
				add("seq %d stores seq %d", seq, t.Seq)
			}
			if t.Type == Void {
				if t.ID != "" || len(t.Lines) > 0 {
					add("seq %d: a void with an id (%q) or lines (%d)", seq, t.ID, len(t.Lines))
				}
				return nil // no id, no index entry
			}
			if t.ID == "" {
				add("seq %d: a %s without an id", seq, t.Type)
				return nil
			}
			if prev, dup := ids[t.ID]; dup {
				add("id %q at seq %d and %d", t.ID, prev, seq)
			}
			ids[t.ID] = seq
			return nil
		})
		if err != nil {
			return err
		}
		if expect-1 != last {
			add("journal ends at seq %d (after pruned_seq %d), meta last_seq %d", expect-1, pruned, last)
		}
		err = btx.Bucket(bucketTxID).ForEach(func(k, v []byte) error {
			if ids[string(k)] != getU64(v) {
				add("id index %q → %d disagrees with the journal (%d)", k, getU64(v), ids[string(k)])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(ids) != btx.Bucket(bucketTxID).Stats().KeyN {
			add("id index has %d entries, journal %d", btx.Bucket(bucketTxID).Stats().KeyN, len(ids))
		}
		// The ledger must equal snapshot + replay.
		want := mapLedger{}
		err = btx.Bucket(bucketSnapshot).ForEach(func(k, v []byte) error {
			sk, err := parseStockKey(k)
			if err != nil {
				return err
			}
			q, err := ParseQty(string(v))
			if err != nil {
				return err
			}
			want[sk] = stockRec{ERP: q, Qty: q}
			return nil
		})
		if err != nil {
			return err
		}
		if err := replayOnto(j.cat, btx, getU64(m.Get(keyAppliedSeq)), want); err != nil {
			add("replay: %v", err)
			return nil
		}
		have := mapLedger{}
		err = btx.Bucket(bucketStock).ForEach(func(k, v []byte) error {
			sk, err := parseStockKey(k)
			if err != nil {
				return err
			}
			var r stockRec
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			have[sk] = r
			return nil
		})
		if err != nil {
			return err
		}
		for k, w := range want {
			if w.Qty.IsZero() && w.ERP.IsZero() {
				continue
			}
			h, ok := have[k]
			if !ok || !h.Qty.Equal(w.Qty) || !h.ERP.Equal(w.ERP) {
				add("ledger %s/%s/%s/%s: stored qty %s erp %s, replay gives qty %s erp %s", k.Item, k.Location, k.Lot, k.State, h.Qty, h.ERP, w.Qty, w.ERP)
			}
		}
		for k, h := range have {
			if w, ok := want[k]; !ok || (w.Qty.IsZero() && w.ERP.IsZero()) {
				add("ledger %s/%s/%s/%s: stored qty %s, replay has none", k.Item, k.Location, k.Lot, k.State, h.Qty)
			}
		}
		return nil
	})
	if err != nil {
		add("check: %v", err)
	}
	return problems
}
