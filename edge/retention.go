package edge

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention. A transaction may be pruned only when all three hold:
//   - the ERP acknowledged it (seq ≤ acked_seq): the outbox is never pruned;
//   - the ERP's last stock snapshot already includes it (seq ≤ applied_seq): the ledger is
//     "snapshot + every transaction after applied_seq", so Check's replay and the next
//     ApplyStockSnapshot (whose applied_seq can only be higher) never need a pruned one;
//   - it was committed before now − journal.retention.
//
// Pruning deletes the transaction, its id index entry and the ack marks (ack.go) that
// cover only pruned seqs, and records the highest pruned
// seq in meta pruned_seq; Check verifies gap-freeness above it. A retried client id older
// than the retention is no longer recognised: by then the ERP has long applied it.

// PruneResult says what one Prune call did.
type PruneResult struct {
	Pruned   int    // transactions deleted
	UpTo     uint64 // pruned_seq after the call
	Blocked  string // why pruning stopped short of the age limit, for logs ("" when not)
	MoreLeft bool   // the batch was full: call again
}

// pruneArgs is one pruning batch's request.
type pruneArgs struct {
	before time.Time
	limit  int
}

// Prune deletes up to limit transactions committed before `before` that the ERP has
// acknowledged and included in its stock snapshot. The batch goes to the committer like a
// transaction and rides in the same WAL record as the postings waiting then, so pruning
// adds no fsync of its own that a posting would have to wait for.
func (j *Journal) Prune(before time.Time, limit int) (PruneResult, error) {
	res := j.submit(&commitReq{prune: &pruneArgs{before: before, limit: limit}})
	if res.err != nil {
		return PruneResult{}, fmt.Errorf("prune journal %s: %w", j.path, res.err)
	}
	if res.pruned.Pruned > 0 {
		// Freed pages may lift a refusal: measured before the caller goes on.
		j.measureQuota()
	}
	return res.pruned, nil
}

// pruneInTx is one pruning batch inside the committer's bbolt transaction.
func pruneInTx(btx *bolt.Tx, w writer, a pruneArgs) (PruneResult, error) {
	var res PruneResult
	m := btx.Bucket(bucketMeta)
	pruned := getU64(m.Get(keyPrunedSeq))
	acked, applied := getU64(m.Get(keyAckedSeq)), getU64(m.Get(keyAppliedSeq))
	bound := min(acked, applied)
	res.UpTo = pruned
	txb := btx.Bucket(bucketTx)
	type victim struct {
		key []byte
		id  string
	}
	var vs []victim
	c := txb.Cursor()
	for k, v := c.Seek(u64(pruned + 1)); k != nil; k, v = c.Next() {
		seq := getU64(k)
		if seq > bound {
			if acked < applied {
				res.Blocked = fmt.Sprintf("seq %d is not acknowledged by the ERP yet (acked_seq %d)", seq, acked)
			} else {
				res.Blocked = fmt.Sprintf("seq %d is not in the ERP's stock snapshot yet (applied_seq %d)", seq, applied)
			}
			break
		}
		if len(vs) == a.limit {
			res.MoreLeft = true
			break
		}
		var head struct {
			ID string     `json:"id"`
			At *time.Time `json:"at"`
		}
		if err := json.Unmarshal(v, &head); err != nil {
			return res, fmt.Errorf("seq %d: %w", seq, err)
		}
		// Seqs are committed in time order; a wall clock stepped back only makes pruning
		// stop early, never delete a young transaction.
		if head.At == nil || !head.At.Before(a.before) {
			break
		}
		// Deleting under a live cursor skips keys in bbolt: collect first.
		vs = append(vs, victim{append([]byte(nil), k...), head.ID})
	}
	if len(vs) == 0 {
		return res, nil
	}
	for _, v := range vs {
		if err := w.del(bucketTx, v.key); err != nil {
			return res, err
		}
		if v.id == "" { // a void: nobody posted it, it has no id index entry
			continue
		}
		if err := w.del(bucketTxID, []byte(v.id)); err != nil {
			return res, err
		}
	}
	res.Pruned = len(vs)
	res.UpTo = getU64(vs[len(vs)-1].key)
	// An ack mark at or below the pruned seq covers only pruned seqs.
	var marks [][]byte
	ac := btx.Bucket(bucketAckTimes).Cursor()
	for k, _ := ac.First(); k != nil && getU64(k) <= res.UpTo; k, _ = ac.Next() {
		marks = append(marks, append([]byte(nil), k...))
	}
	for _, k := range marks {
		if err := w.del(bucketAckTimes, k); err != nil {
			return res, err
		}
	}
	return res, w.put(bucketMeta, keyPrunedSeq, u64(res.UpTo))
}

// PrunedSeq returns the highest seq pruned so far (0: none).
func (j *Journal) PrunedSeq() (uint64, error) {
	var p uint64
	err := j.view(func(btx *bolt.Tx) error {
		p = getU64(btx.Bucket(bucketMeta).Get(keyPrunedSeq))
		return nil
	})
	return p, err
}

// PruneExpired prunes every transaction committed before `before` that may be pruned, in
// batches of batch, until none is left or ctx is done. After each batch it pauses as long
// as the batch took, so pruning never holds bbolt's single writer more than half the time
// and a posting waits behind at most one batch. It returns the last batch's result (whose
// Blocked says why pruning stopped short) and the total pruned.
func (j *Journal) PruneExpired(ctx context.Context, before time.Time, batch int) (PruneResult, int, error) {
	total := 0
	for {
		start := time.Now()
		res, err := j.Prune(before, batch)
		if err != nil {
			return res, total, err
		}
		total += res.Pruned
		if !res.MoreLeft || res.Pruned == 0 {
			return res, total, nil
		}
		select {
		case <-ctx.Done():
			return res, total, nil
		case <-time.After(max(time.Since(start), time.Millisecond)):
		}
	}
}

// RunRetention prunes expired transactions every cfg.PruneInterval (PruneExpired, batches
// of cfg.PruneBatch) until ctx is done. It also keeps the disk quota current, so that
// refusals lift as soon as space is free.
func (j *Journal) RunRetention(ctx context.Context, cfg JournalConfig) error {
	cfg.ApplyDefaults()
	t := time.NewTicker(cfg.PruneInterval)
	defer t.Stop()
	lastBlocked := ""
	for {
		res, total, err := j.PruneExpired(ctx, j.now().Add(-cfg.Retention), cfg.PruneBatch)
		if err != nil {
			j.log.Error("pruning failed", "err", err)
		}
		if total > 0 {
			j.log.Info("pruned acknowledged transactions", "count", total, "pruned_seq", res.UpTo)
		}
		// Logged once per change: a stalled ERP would otherwise repeat it every interval.
		if res.Blocked != lastBlocked && res.Blocked != "" {
			j.log.Debug("pruning waits for the ERP", "reason", res.Blocked)
		}
		lastBlocked = res.Blocked
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			j.measureQuota()
		}
	}
}
