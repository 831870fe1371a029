package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/depotd/depotd/edge/engine"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// commitReq is one unit of work for the committer: a transaction to journal, a pruning
// batch (both logged in the WAL), a write of another kind made durable by a checkpoint, or
// a reader asking that everything committed be visible in bbolt.
type commitReq struct {
	tx    Transaction
	prune *pruneArgs               // a pruning batch riding along with the commits (retention.go)
	fn    func(btx *bolt.Tx) error // acks, snapshots, master data, exceptions, station states
	read  func(btx *bolt.Tx) error // a read that must not run beside a commit (inspect)
	sync  bool
	// measure asks, with sync, for the disk quota to be measured before the answer
	// (after pruning freed pages). The quota has one owner, the committer: nothing that
	// measures it waits for the committer while holding its state.
	measure bool
	raise   []Exception // raised with tx (CommitRaising)
	pre     []byte      // tx encoded without seq and at (preEncode); nil for counts
	preID   int         // where seq and at go in pre
	done    chan commitRes
}

type commitRes struct {
	tx       Transaction
	existing bool
	err      error
	pruned   PruneResult
}

// writer is where a commit's writes go: through redo (logged for the WAL) or direct.
type writer interface {
	put(bucket, k, v []byte) error
	del(bucket, k []byte) error
}

type direct struct{ btx *bolt.Tx }

func (d direct) put(bucket, k, v []byte) error { return d.btx.Bucket(bucket).Put(k, v) }
func (d direct) del(bucket, k []byte) error    { return d.btx.Bucket(bucket).Delete(k) }

// group is one group commit: its requests, their answers, and the WAL payload of its
// writes, which are already in the committer's bbolt transaction.
type group struct {
	batch   []*commitReq
	results []commitRes
	last    uint64 // last seq after the group
	ops     []byte
	// logged: a WAL write holding the group failed after it may have reached the disk.
	// If the checkpoint that should replace it fails too, its outcome is unknown: the
	// next start may replay the record.
	logged bool
}

// Payload is the group's WAL payload (engine.Group).
func (g *group) Payload() []byte { return g.ops }

// checkpointBytes is how much WAL payload (about 2,000 transactions) the committer lets
// its open transaction gather before it checkpoints.
const checkpointBytes = 1 << 20

// committer is the single writer. It owns a bbolt read-write transaction that stays open
// across group commits: each group of waiting requests is applied to it at once and queued
// for the syncer, which writes everything queued as one WAL record, fdatasyncs it, answers
// the callers and takes the next queue; applying and syncing overlap. A group is answered
// when its record is durable. A checkpoint commits the transaction to bbolt when a reader
// needs to see it, another kind of write needs its own durability, the WAL is full or
// failed, checkpointBytes have gathered, nothing came for CheckpointIdle, or
// CheckpointEvery has passed. After a failed checkpoint the optional ones wait for the
// backoff (ckptBackoffMin doubling to ckptBackoffMax).
func (j *Journal) committer() {
	defer close(j.done)
	var kick <-chan struct{} // nil without a WAL: never ready
	if j.wal != nil {
		j.syncer = engine.NewSyncer(j.wal, j.answer, func(lsn uint64, size int) {
			j.walLSN.Store(lsn)
			j.pending.Add(int64(size))
			j.commits.Add(1)
		})
		kick = j.syncer.Failed()
		syncerDone := make(chan struct{})
		go func() {
			defer close(syncerDone)
			j.syncer.Run()
		}()
		defer func() {
			j.syncer.Stop()
			<-syncerDone
			j.wal.Close()
		}()
	}
	// Whatever happens, bbolt's Close waits for an open write transaction: never leave one.
	defer func() {
		if j.t != nil {
			j.t.Rollback()
			j.t = nil
		}
	}()
	batch := make([]*commitReq, 0, j.max)
	var due <-chan time.Time
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		batch = batch[:0]
		// Failed writes go first: their callers are waiting (select alone picks at random).
		if !j.drainFailed() {
			select {
			case r := <-j.reqs:
				batch = append(batch, r)
			case <-kick:
				j.drainFailed()
			case <-due:
				due = nil
				j.optionalCheckpoint()
			case <-idle.C:
				j.optionalCheckpoint()
			case <-retry.C:
				j.optionalCheckpoint()
			case <-j.closed:
				j.finalCheckpoint()
				return
			}
		}
	gather:
		for len(batch) < j.max {
			select {
			case r := <-j.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		if len(batch) > 0 {
			j.process(batch)
			if j.t != nil {
				idle.Reset(j.ckptIdle)
			}
		}
		// A failed or full WAL write, or no WAL: bbolt's own commit makes the groups durable.
		// Under a quota, what only the WAL holds is an estimate: keep it to 1 % of it.
		// Otherwise checkpointBytes bounds the open transaction, whose nodes grow (and
		// inserts into them slow down) until a checkpoint splits them.
		if j.needCkpt {
			j.checkpoint()
		} else if (j.quota.max > 0 && j.pending.Load() > j.quota.max/100) || j.pending.Load() > checkpointBytes {
			j.optionalCheckpoint()
		}
		// Measured after the callers have their answers, so the quota costs them nothing.
		j.updateQuota(j.runFn)
		switch {
		case j.t == nil:
			due = nil
		case due == nil:
			due = time.After(j.ckptEvery)
		}
		if j.ckptErr != nil && j.t != nil {
			retry.Reset(time.Until(j.ckptRetry))
		}
	}
}

// Checkpoint retries after a failure back off from ckptBackoffMin to ckptBackoffMax: a
// full disk must not make every loop, read and commit pay a failing checkpoint and the
// WAL replay that follows it (TestFailingCheckpointsSpareBystanders).
const (
	ckptBackoffMin = 50 * time.Millisecond
	ckptBackoffMax = time.Second
	// ckptLogEvery rate-limits the log line of a checkpoint that keeps failing.
	ckptLogEvery = 30 * time.Second
)

// backingOff says whether the last checkpoint failed so recently that an optional one
// should not be tried yet.
func (j *Journal) backingOff() bool {
	return j.ckptErr != nil && time.Now().Before(j.ckptRetry)
}

// optionalCheckpoint checkpoints unless a failed one is backing off; it returns the
// reason there is none.
func (j *Journal) optionalCheckpoint() error {
	if j.backingOff() {
		return j.ckptErr
	}
	return j.checkpoint()
}

// finalCheckpoint is Close's: whatever it says, Close returns. What the WAL holds stays
// there for the next Open to replay.
func (j *Journal) finalCheckpoint() {
	if err := j.checkpoint(); err != nil {
		j.closeErr = fmt.Errorf("close journal %s: %w; the transactions committed since the last checkpoint are "+
			"kept in the write-ahead log %s, and the next start replays them", j.path, err, WALPath(j.path))
		if j.wal == nil {
			j.closeErr = fmt.Errorf("close journal %s: %w", j.path, err)
		}
		j.log.Error("final checkpoint failed; the write-ahead log keeps the transactions for the next start", "err", err)
	}
}

func (j *Journal) process(batch []*commitReq) {
	var logged, fns, reads, syncs []*commitReq
	for _, r := range batch {
		switch {
		case r.fn != nil:
			fns = append(fns, r)
		case r.read != nil:
			reads = append(reads, r)
		case r.sync:
			syncs = append(syncs, r)
		default:
			logged = append(logged, r)
		}
	}
	if len(logged) > 0 {
		if err := j.unavailable(); err != nil {
			// Nothing applied, so nothing to undo: the bystanders of a failing disk pay
			// neither a checkpoint attempt nor a replay of the WAL.
			err = j.notCommitted(err)
			for _, r := range logged {
				r.done <- commitRes{err: err}
			}
		} else {
			j.applyGroup(logged)
		}
	}
	// One at a time: a failing write is undone by rolling back to the checkpoint and
	// replaying the WAL, which would also undo a neighbour that had succeeded.
	for _, r := range fns {
		r.done <- commitRes{err: j.runFn(r.fn)}
	}
	// In a read transaction after a checkpoint (bbolt's page statistics do not see
	// uncommitted writes), which a failed checkpoint leaves on the previous one. Nothing
	// commits meanwhile: this goroutine is the one that would.
	for _, r := range reads {
		if err := j.optionalCheckpoint(); err != nil {
			j.log.Debug("read sees the last checkpoint", "err", err)
		}
		r.done <- commitRes{err: j.db.View(r.read)}
	}
	if len(syncs) > 0 {
		err := j.optionalCheckpoint()
		for _, r := range syncs {
			if r.measure {
				j.updateQuota(j.runFn)
				break
			}
		}
		for _, r := range syncs {
			r.done <- commitRes{err: err}
		}
	}
}

// runFn runs fn in the committer's transaction and checkpoints it. Groups applied but not
// yet durable are checkpointed first, so that a failing fn, undone by rolling back, takes
// none of them along; what the WAL already holds comes back by replay, and rides in fn's
// own checkpoint.
func (j *Journal) runFn(fn func(btx *bolt.Tx) error) error {
	if j.t != nil && j.notDurable() {
		if err := j.checkpoint(); err != nil {
			return err
		}
	}
	if err := j.begin(); err != nil {
		return err
	}
	j.rows = nil // fn may write stock rows (a snapshot does)
	if err := fn(j.t); err != nil {
		j.abort(err)
		return err
	}
	return j.checkpoint()
}

// notDurable says whether some applied group is not durable yet.
func (j *Journal) notDurable() bool {
	if len(j.unsynced) > 0 {
		return true
	}
	return j.wal != nil && j.syncer.Pending()
}

// begin opens the committer's bbolt transaction if none is open.
func (j *Journal) begin() error {
	if j.failed != nil {
		return j.failed
	}
	if j.t != nil {
		return nil
	}
	t, err := j.db.Begin(true)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	fillAppendOnly(t)
	j.t = t
	return nil
}

// notCommitted is what the callers of a group that was not committed learn: cause in
// plain words, once, and that nothing of theirs was kept.
func (j *Journal) notCommitted(cause error) error {
	cause = storageErr(cause)
	if errors.Is(cause, ErrDiskFull) {
		return fmt.Errorf("commit to journal %s: %w; the transaction was not committed, and posting resumes when space is freed", j.path, cause)
	}
	return fmt.Errorf("commit to journal %s: %w; the transaction was not committed", j.path, cause)
}

// unknownOutcome is what the callers of a group learn whose WAL record failed after it
// may have reached the disk, when the checkpoint that should have replaced it failed too.
func (j *Journal) unknownOutcome(cause error) error {
	return fmt.Errorf("%w: journal %s could not make the transaction durable (%v), but its record may be in "+
		"the write-ahead log, which the next start replays", ErrOutcomeUnknown, j.path, storageErr(cause))
}

// unavailable says why a transaction cannot be committed now without trying: only a
// checkpoint can make it durable (the WAL is full, or its last write failed) and the
// last one failed moments ago.
func (j *Journal) unavailable() error {
	if j.wal == nil || !(j.walFull || j.walFailed) || !j.backingOff() {
		return nil
	}
	return j.ckptErr
}

// applyGroup applies transactions and pruning batches to the open bbolt transaction as one
// group and queues it for the WAL.
func (j *Journal) applyGroup(batch []*commitReq) {
	fail := func(err error) {
		err = j.notCommitted(err)
		j.log.Error("journal commit failed", "err", err, "batch", len(batch))
		for _, r := range batch {
			r.done <- commitRes{err: err}
		}
	}
	if err := j.begin(); err != nil {
		fail(err)
		return
	}
	if err := commitFault.run(); err != nil {
		fail(err)
		return
	}
	rec := &redo{btx: j.t, ops: make([]byte, 0, 640*len(batch))}
	results, last, err := j.apply(rec, batch)
	if err != nil {
		// Part of the group may be written: back to the WAL's state, which also undoes
		// the groups applied but not yet durable.
		j.abort(err)
		fail(err)
		return
	}
	g := &group{batch: batch, results: results, last: last, ops: rec.ops}
	switch {
	case len(g.ops) == 0 && !j.notDurable():
		g.last = 0 // only retries and refusals of durable state: nothing to wait for
		j.answer(g)
	case len(g.ops) == 0 && (j.wal == nil || j.walFailed):
		// A retry of an id, or a refusal, judged against groups that are not durable yet:
		// answered with them, never before (TestRetryIsAnsweredOnlyOnceTheOriginalIsDurable).
		g.last = 0
		j.unsynced = append(j.unsynced, g)
		j.needCkpt = true
	case j.wal == nil || j.walFailed:
		j.unsynced = append(j.unsynced, g)
		j.needCkpt = true
	default:
		j.syncer.Queue(g)
	}
}

// drainFailed takes back the writes that failed or did not fit; it says whether there
// were any.
func (j *Journal) drainFailed() bool {
	if j.wal == nil {
		return false
	}
	failed := j.syncer.TakeFailed()
	for _, l := range failed {
		j.takeBack(l)
	}
	return len(failed) > 0
}

// takeBack handles a write that failed or did not fit: its groups are in the open
// transaction, and the checkpoint that follows makes them durable or fails them. After a
// failed write nothing goes to the WAL until a checkpoint holds everything: its record may
// be on disk, and only a checkpoint can skip its lsn.
func (j *Journal) takeBack(l engine.Landing[*group]) {
	if errors.Is(l.Err, engine.ErrFull) {
		j.walFull = true
	} else {
		if !j.walFailed {
			j.log.Error("write-ahead log write failed; checkpointing to bbolt instead", "err", l.Err)
		}
		j.walFailed = true
		for _, g := range l.Groups {
			g.logged = true
		}
	}
	j.unsynced = append(j.unsynced, l.Groups...)
	j.needCkpt = true
}

// quiesce lets the syncer finish its write and holds it; every applied group that is not
// durable is then in j.unsynced, in order. resume lets it go on.
func (j *Journal) quiesce() {
	if j.wal == nil {
		return
	}
	queued, failed := j.syncer.Quiesce()
	for _, l := range failed {
		j.takeBack(l)
	}
	j.unsynced = append(j.unsynced, queued...)
}

func (j *Journal) resume() {
	if j.wal == nil {
		return
	}
	j.syncer.Resume()
}

// answer tells a durable group's callers.
func (j *Journal) answer(g *group) {
	for prev := j.last.Load(); g.last > prev; prev = j.last.Load() {
		if j.last.CompareAndSwap(prev, g.last) {
			j.txs.Add(g.last - prev)
			j.signalCommitted()
			break
		}
	}
	for i, r := range g.batch {
		r.done <- g.results[i]
	}
}

// preEncode encodes tx (seq 0 and at nil, both omitted) for withSeqAt, and returns where
// they go: right after the id, the first field. Counts get nil: the committer fills their
// expected quantities. So does anything whose encoding does not start as expected.
func preEncode(tx *Transaction) ([]byte, int) {
	if tx.Type == Count {
		return nil, 0
	}
	raw, err := json.Marshal(tx)
	if err != nil {
		return nil, 0
	}
	id, err := json.Marshal(tx.ID)
	if err != nil {
		return nil, 0
	}
	head := `{"id":` + string(id)
	if len(raw) <= len(head) || string(raw[:len(head)]) != head {
		return nil, 0
	}
	return raw, len(head)
}

// withSeqAt is json.Marshal of the transaction pre encodes with Seq and At set, byte for
// byte (TestWithSeqAtMatchesMarshal).
func withSeqAt(pre []byte, at int, seq uint64, atJSON []byte) []byte {
	b := make([]byte, 0, len(pre)+len(atJSON)+32)
	b = append(b, pre[:at]...)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"at":`...)
	b = append(b, atJSON...)
	return append(b, pre[at:]...)
}

// apply writes a group into the open bbolt transaction through rec. A transaction refused
// against the ledger is skipped without touching the others; an error undoes the group.
func (j *Journal) apply(rec *redo, batch []*commitReq) ([]commitRes, uint64, error) {
	btx := rec.btx
	results := make([]commitRes, len(batch))
	now := j.now()
	var atJSON []byte
	var err error
	meta := btx.Bucket(bucketMeta)
	txb, idb := btx.Bucket(bucketTx), btx.Bucket(bucketTxID)
	last := getU64(meta.Get(keyLastSeq))
	excSeq := getU64(meta.Get(keyExcSeq))
	if j.rows == nil {
		j.rows = map[stockKey]stockRec{}
	}
	led := &boltLedger{b: btx.Bucket(bucketStock), w: rec, rows: j.rows}
	for i, r := range batch {
		if r.prune != nil {
			res, err := pruneInTx(btx, rec, *r.prune)
			if err != nil {
				return nil, 0, err
			}
			results[i].pruned = res
			continue
		}
		if s := idb.Get([]byte(r.tx.ID)); s != nil {
			orig, err := decodeTx(txb.Get(s))
			if err != nil {
				return nil, 0, err
			}
			results[i] = commitRes{tx: orig, existing: true}
			continue
		}
		tx := r.tx
		tx.At = &now // one time for the whole group: the callers get copies of the value
		o := newOverlay(led)
		if err := applyTx(j.cat, o, &tx, true); err != nil {
			return nil, 0, err
		}
		var excs []Exception
		refused := false
		for _, n := range o.negatives() {
			if !j.cat.allowsNegative(n.key.Location) {
				results[i].err = &StockError{Field: fmt.Sprintf("lines[%d]", n.line), Item: n.key.Item,
					Location: n.key.Location, Lot: n.key.Lot, State: n.key.State, Have: n.before, Need: n.before.Sub(n.after)}
				refused = true
				break
			}
			excs = append(excs, Exception{Kind: ExcNegativeStock, Item: n.key.Item, Location: n.key.Location,
				Lot: n.key.Lot, Message: fmt.Sprintf("%s at %s (%s) went to %s", n.key.Item, n.key.Location, n.key.State, n.after)})
		}
		if refused {
			continue
		}
		if tx.Type == Count {
			for li, l := range tx.Lines {
				if l.Delta != nil && !l.Delta.IsZero() {
					excs = append(excs, Exception{Kind: ExcCountDiscrepancy, Item: l.Item, Location: l.To, Lot: l.Lot,
						Message: fmt.Sprintf("lines[%d]: counted %s, expected %s (delta %s)", li, l.BaseQtyOrQty(), l.Expected, l.Delta)})
				}
			}
		}
		last++
		tx.Seq = last
		var raw []byte
		if r.pre != nil {
			if atJSON == nil {
				if atJSON, err = now.MarshalJSON(); err != nil {
					return nil, 0, err
				}
			}
			raw = withSeqAt(r.pre, r.preID, last, atJSON)
		} else if raw, err = json.Marshal(&tx); err != nil {
			return nil, 0, err
		}
		if err := rec.put(bucketTx, u64(last), raw); err != nil {
			return nil, 0, err
		}
		if err := rec.put(bucketTxID, []byte(tx.ID), u64(last)); err != nil {
			return nil, 0, err
		}
		if err := o.flush(); err != nil {
			return nil, 0, err
		}
		for _, e := range append(excs, r.raise...) {
			excSeq++
			e.ID, e.Seq, e.At, e.Resolved = excSeq, last, now, nil
			if err := putException(btx, rec, e); err != nil {
				return nil, 0, err
			}
		}
		results[i].tx = tx
	}
	if len(rec.ops) == 0 {
		return results, last, nil
	}
	if err := rec.put(bucketMeta, keyExcSeq, u64(excSeq)); err != nil {
		return nil, 0, err
	}
	return results, last, rec.put(bucketMeta, keyLastSeq, u64(last))
}

// checkpoint commits the open bbolt transaction, with the WAL position it holds, after
// which the WAL starts over; groups the WAL does not hold are durable by it and answered.
// On failure bbolt is back at the previous checkpoint and the WAL is replayed into a new
// transaction: nothing the WAL acknowledged is lost, the groups it did not hold fail.
func (j *Journal) checkpoint() error {
	j.quiesce()
	defer j.resume()
	j.needCkpt = false
	if j.t == nil {
		return nil
	}
	var skip uint64
	if j.wal != nil && j.walFailed {
		// Records after the last durable one may be intact on disk: skip their lsns, so
		// that none can ever be replayed over this checkpoint.
		skip = j.wal.Reserved()
	}
	t := j.t
	j.t = nil
	visible := getU64(t.Bucket(bucketMeta).Get(keyLastSeq))
	lsn := max(j.walLSN.Load(), skip)
	err := t.Bucket(bucketMeta).Put(keyWALLSN, u64(lsn))
	if err == nil {
		err = checkpointFault.run()
	}
	if err == nil {
		err = t.Commit()
	} else {
		t.Rollback()
	}
	if err != nil {
		err = fmt.Errorf("checkpoint: %w", storageErr(err))
		j.checkpointFailed(err)
		j.rollback(err)
		return err
	}
	if j.ckptErr != nil {
		j.log.Info("journal checkpoint succeeded again", "journal", j.path, "failed_for", time.Since(j.ckptFailedAt).Round(time.Millisecond))
	}
	j.ckptErr, j.ckptBackoff = nil, 0
	j.walFailed, j.walFull = false, false
	j.walLSN.Store(lsn)
	j.ckptLSN.Store(lsn)
	j.pending.Store(0)
	if len(j.rows) > 4096 {
		j.rows = nil // a cache, not a second ledger: keep it to the rows in use
	}
	if j.wal != nil {
		// Held by quiesce: no write in flight.
		j.wal.Restart(lsn)
	}
	j.checkpoints.Add(1)
	unsynced := j.unsynced
	j.unsynced = nil
	if len(unsynced) > 0 {
		j.commits.Add(1)
	}
	for _, g := range unsynced {
		j.answer(g)
	}
	if visible > j.visible.Load() {
		j.visible.Store(visible)
		j.signal(&j.checkpointed)
	}
	return nil
}

// checkpointFailed records a failed checkpoint for the backoff and logs it, at most once
// per ckptLogEvery while it keeps failing.
func (j *Journal) checkpointFailed(err error) {
	now := time.Now()
	if j.ckptErr == nil {
		j.ckptFailedAt = now
		j.ckptBackoff = ckptBackoffMin
	} else {
		j.ckptBackoff = min(2*j.ckptBackoff, ckptBackoffMax)
	}
	j.ckptErr = err
	j.ckptRetry = now.Add(j.ckptBackoff)
	if now.Sub(j.ckptLogged) >= ckptLogEvery {
		j.ckptLogged = now
		j.log.Error("journal checkpoint failed; commits go on in the write-ahead log while it has room",
			"journal", j.path, "err", err, "failing_for", now.Sub(j.ckptFailedAt).Round(time.Millisecond))
	}
}

// abort rolls the open transaction back to the last checkpoint, replays the WAL onto it
// and fails the groups that were applied but are not durable.
func (j *Journal) abort(cause error) {
	j.quiesce()
	defer j.resume()
	j.rollback(cause)
}

// rollback is abort with the syncer held.
func (j *Journal) rollback(cause error) {
	if j.t != nil {
		j.t.Rollback()
		j.t = nil
	}
	j.rows = nil
	j.needCkpt = false
	unsynced := j.unsynced
	j.unsynced = nil
	failed, unknown := j.notCommitted(cause), j.unknownOutcome(cause)
	nUnknown := 0
	for _, g := range unsynced {
		err := failed
		if g.logged {
			err = unknown
			nUnknown++
		}
		for _, r := range g.batch {
			r.done <- commitRes{err: err}
		}
	}
	if len(unsynced) > 0 {
		j.log.Error("journal commit failed", "journal", j.path, "err", cause, "groups", len(unsynced), "outcome_unknown", nUnknown)
	}
	j.redo()
}

// redo replays the WAL records since the last checkpoint into a new open transaction. If
// even that fails the disk cannot be read back: every later write fails with the error.
func (j *Journal) redo() {
	if j.wal == nil || j.walLSN.Load() == j.ckptLSN.Load() {
		return
	}
	err := j.begin()
	if err == nil {
		err = j.wal.ReadFrom(j.ckptLSN.Load(), func(r engine.Record) error {
			if r.LSN > j.walLSN.Load() {
				return nil
			}
			_, err := applyOps(j.t, r.Payload)
			return err
		})
	}
	if err != nil {
		if j.t != nil {
			j.t.Rollback()
			j.t = nil
		}
		j.failed = fmt.Errorf("journal %s: replaying the write-ahead log after a failed commit: %w", j.path, err)
		j.log.Error("journal stopped accepting writes", "err", j.failed)
	}
}

// submit hands r to the committer and waits for its answer.
func (j *Journal) submit(r *commitReq) commitRes {
	r.done = make(chan commitRes, 1)
	select {
	case j.reqs <- r:
	case <-j.closed:
		return commitRes{err: ErrClosed}
	}
	return <-r.done
}

// update runs fn in the committer's transaction and returns once it is durable in bbolt.
func (j *Journal) update(fn func(btx *bolt.Tx) error) error {
	return j.submit(&commitReq{fn: fn}).err
}

// inspect runs fn in a read transaction between group commits, after a checkpoint: for
// reads that bbolt does not allow beside a commit (its page check walks the freelist the
// committer changes). A journal without a committer (a backup being verified) reads
// directly.
func (j *Journal) inspect(fn func(btx *bolt.Tx) error) error {
	if j.reqs == nil {
		return j.db.View(fn)
	}
	return j.submit(&commitReq{read: fn}).err
}

// view runs fn in a bbolt read transaction that sees every transaction committed before
// the call: if the WAL holds some that bbolt does not, it asks for a checkpoint first. A
// failed checkpoint (a full disk) leaves the read on the last checkpoint rather than
// failing it, so the console keeps working.
func (j *Journal) view(fn func(btx *bolt.Tx) error) error {
	if err := j.sync(); err != nil {
		j.log.Debug("read sees the last checkpoint: the newest transactions are safe in the write-ahead log", "err", err)
	}
	return j.db.View(fn)
}

// sync checkpoints if the WAL holds transactions bbolt does not.
func (j *Journal) sync() error {
	if j.walLSN.Load() == j.ckptLSN.Load() {
		return nil
	}
	r := &commitReq{sync: true, done: make(chan commitRes, 1)}
	select {
	case j.reqs <- r:
		return (<-r.done).err
	case <-j.done:
		return nil
	}
}
