package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/depotd/depotd/edge/engine"

	bolt "go.etcd.io/bbolt"
)

// commitReq is one unit of work for the committer: a transaction to journal, a pruning
// batch (both logged in the WAL), a write of another kind made durable by a checkpoint, or
// a reader asking that everything committed be visible in bbolt.
type commitReq struct {
	tx    Transaction
	prune *pruneArgs // a pruning batch riding along with the commits (retention.go)
	// states are station states riding along with the commits (stations.go), nil
	// values deleting: checked before they come, so that they cannot fail a group.
	states map[string][]byte
	// write rides along with the commits too, writing through w (acks): an error before
	// it wrote anything is its own answer, one after fails the group.
	write func(btx *bolt.Tx, w writer) error
	fn    func(btx *bolt.Tx) error // snapshots, master data, exceptions
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
	raw      []byte // tx as stored (json.Marshal's bytes), for a new commit; never modified
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
}

// Payload is the group's WAL payload (engine.Group).
func (g *group) Payload() []byte { return g.ops }

// checkpointBytes is how much WAL payload (about 2,000 transactions) the committer lets
// its open transaction gather before it checkpoints.
const checkpointBytes = 1 << 20

// committer is the single writer, the owner of the engine (package engine): it gathers
// the waiting requests, up to MaxBatch, applies each group of transactions to the
// engine's open transaction and hands it over; the syncer makes it durable in the WAL and
// answers it. It checkpoints when a reader needs to see what only the WAL holds, another
// kind of write needs its own durability, only a checkpoint can make a group durable,
// checkpointBytes have gathered, nothing came for CheckpointIdle once every group was
// durable, or CheckpointEvery has passed; after a failed checkpoint the optional ones
// back off.
func (j *Journal) committer() {
	defer close(j.done)
	batch := make([]*commitReq, 0, j.max)
	var due <-chan time.Time
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	e := j.eng
	for {
		batch = batch[:0]
		// Failed writes go first: their callers are waiting (select alone picks at random).
		if !e.TakeBack() {
			select {
			case r := <-j.reqs:
				batch = append(batch, r)
			case <-e.WALFailed():
				e.TakeBack()
			case <-due:
				due = nil
				e.OptionalCheckpoint()
			case <-idle.C:
				// Callers waiting for their WAL sync are not idle: on flash, whose
				// fdatasync can outlast CheckpointIdle, checkpointing then would rewrite
				// bbolt's pages after every group under load (measured: 58 instead of 9
				// checkpoints for 20,000 transactions at 16 writers, 4.9 instead of 4.1
				// device bytes per payload byte). Wait for them to come back.
				if e.NotDurable() {
					idle.Reset(j.ckptIdle)
				} else {
					e.OptionalCheckpoint()
				}
			case <-retry.C:
				e.OptionalCheckpoint()
			case <-j.closed:
				j.closeEngine()
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
			if e.Open() {
				idle.Reset(j.ckptIdle)
			}
		}
		// Under a quota, what only the WAL holds is an estimate: keep it to 1 % of it.
		// Otherwise checkpointBytes bounds the open transaction, whose nodes grow (and
		// inserts into them slow down) until a checkpoint splits them.
		if e.NeedsCheckpoint() {
			e.Checkpoint()
		} else if (j.quota.max > 0 && e.PendingBytes() > j.quota.max/100) || e.PendingBytes() > checkpointBytes {
			e.OptionalCheckpoint()
		}
		// Measured after the callers have their answers, so the quota costs them nothing.
		j.updateQuota(j.runFn)
		switch {
		case !e.Open():
			due = nil
		case due == nil:
			due = time.After(j.ckptEvery)
		}
		if at, ok := e.RetryAt(); ok {
			retry.Reset(time.Until(at))
		}
	}
}

// closeEngine is Close's final checkpoint: whatever it says, Close returns. What the WAL
// holds stays there for the next Open to replay.
func (j *Journal) closeEngine() {
	if err := j.eng.Close(); err != nil {
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
		if err := j.eng.Unavailable(); err != nil {
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
		if err := j.eng.OptionalCheckpoint(); err != nil {
			j.log.Debug("read sees the last checkpoint", "err", err)
		}
		r.done <- commitRes{err: j.db.View(r.read)}
	}
	if len(syncs) > 0 {
		err := j.eng.OptionalCheckpoint()
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
	e := j.eng
	if e.Open() && e.NotDurable() {
		if err := e.Checkpoint(); err != nil {
			return err
		}
	}
	t, err := e.Tx()
	if err != nil {
		return err
	}
	j.rows = nil // fn may write stock rows (a snapshot does)
	if err := fn(t); err != nil {
		e.Abort(err)
		return err
	}
	return e.Checkpoint()
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
	t, err := j.eng.Tx()
	if err != nil {
		fail(err)
		return
	}
	if err := commitFault.run(); err != nil {
		fail(err)
		return
	}
	rec := redo{engine.NewWriter(t, 640*len(batch))}
	results, last, err := j.apply(rec, batch)
	if err != nil {
		// Part of the group may be written: back to the WAL's state, which also undoes
		// the groups applied but not yet durable.
		j.eng.Abort(err)
		fail(err)
		return
	}
	g := &group{batch: batch, results: results, last: last, ops: rec.Ops()}
	if len(g.ops) == 0 {
		// Only retries and refusals: no new seq. They are answered once everything they
		// were judged on is durable (TestRetryIsAnsweredOnlyOnceTheOriginalIsDurable).
		g.last = 0
	}
	j.eng.Log(g)
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
func (j *Journal) apply(rec redo, batch []*commitReq) ([]commitRes, uint64, error) {
	btx := rec.Tx()
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
		if r.states != nil {
			for name, raw := range r.states {
				if raw == nil {
					err = rec.del(bucketStations, []byte(name))
				} else {
					err = rec.put(bucketStations, []byte(name), raw)
				}
				if err != nil {
					return nil, 0, err
				}
			}
			continue
		}
		if r.write != nil {
			// It may raise exceptions (an ack's rejections): they number on from the
			// group's so far, and the group's go on from its.
			if excSeq != getU64(meta.Get(keyExcSeq)) {
				if err := rec.put(bucketMeta, keyExcSeq, u64(excSeq)); err != nil {
					return nil, 0, err
				}
			}
			before := len(rec.Ops())
			if err := r.write(btx, rec); err != nil {
				if len(rec.Ops()) != before {
					return nil, 0, err
				}
				results[i].err = err
			}
			excSeq = getU64(meta.Get(keyExcSeq))
			continue
		}
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
			results[i].tx, results[i].existing, results[i].err = retryOf(r.tx, orig)
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
		results[i].tx, results[i].raw = tx, raw
	}
	if len(rec.Ops()) == 0 {
		return results, last, nil
	}
	if err := rec.put(bucketMeta, keyExcSeq, u64(excSeq)); err != nil {
		return nil, 0, err
	}
	return results, last, rec.put(bucketMeta, keyLastSeq, u64(last))
}

// journalDomain is the journal as the engine's Domain.
type journalDomain struct {
	j       *Journal
	visible uint64 // the last seq of the checkpoint in progress
}

func (d *journalDomain) Answer(g *group) { d.j.answer(g) }

func (d *journalDomain) Fail(g *group, cause error, logged bool) {
	err := d.j.notCommitted(cause)
	if logged {
		err = d.j.unknownOutcome(cause)
	}
	for _, r := range g.batch {
		r.done <- commitRes{err: err}
	}
}

func (d *journalDomain) Begun(t *bolt.Tx) { fillAppendOnly(t) }

func (d *journalDomain) Checkpointing(t *bolt.Tx) error {
	d.visible = getU64(t.Bucket(bucketMeta).Get(keyLastSeq))
	return checkpointFault.run()
}

func (d *journalDomain) Checkpointed() {
	j := d.j
	if len(j.rows) > 4096 {
		j.rows = nil // a cache, not a second ledger: keep it to the rows in use
	}
	if d.visible > j.visible.Load() {
		j.visible.Store(d.visible)
		j.signal(&j.checkpointed)
	}
}

func (d *journalDomain) RolledBack() { d.j.rows = nil }

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
	if j.eng.Synced() {
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
