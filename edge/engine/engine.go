package engine

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Domain is what the engine needs from the store on top of it (the journal). The engine
// calls it only from the owner's goroutine, except Answer, which the syncer also calls.
type Domain[G Group] interface {
	// Answer tells a durable group's callers.
	Answer(g G)
	// Fail tells a group's callers that it is not committed because of cause. logged
	// means a WAL record holding it was written and may be intact on disk: the next open
	// may replay it, so its outcome is unknown rather than failed.
	Fail(g G, cause error, logged bool)
	// Begun is told each new write transaction (to set its buckets' fill factors).
	Begun(t *bolt.Tx)
	// Checkpointing runs in the transaction just before a checkpoint commits it, after
	// the checkpoint's WAL position is written; its error fails the checkpoint.
	Checkpointing(t *bolt.Tx) error
	// Checkpointed is told after a checkpoint is durable, before the groups it made
	// durable are answered.
	Checkpointed()
	// RolledBack is told when the open transaction is rolled back: what the domain
	// cached of it is gone.
	RolledBack()
}

// Config says where the engine keeps its state in bbolt and how it reports.
type Config struct {
	// Path names the database in errors and log lines.
	Path   string
	Logger *slog.Logger
	// LSN is the last WAL record the database holds (what the last checkpoint recorded,
	// or the replay at open).
	LSN uint64
	// SetLSN records in t the last WAL record a checkpoint holds.
	SetLSN func(t *bolt.Tx, lsn uint64) error
	// Wrap turns a storage error into what callers see (a full disk into the domain's
	// ErrDiskFull); nil leaves errors as they are.
	Wrap func(error) error
}

// Checkpoint retries after a failure back off from backoffMin to backoffMax: a full disk
// must not make every loop, read and commit pay a failing checkpoint and the WAL replay
// that follows it.
const (
	backoffMin = 50 * time.Millisecond
	backoffMax = time.Second
	// logEvery rate-limits the log line of a checkpoint that keeps failing.
	logEvery = 30 * time.Second
)

// Engine keeps one bbolt read-write transaction open across group commits: each group's
// writes are applied to it (Tx) and handed over with their WAL payload (Log); the Syncer
// makes them durable in the WAL and answers them, and a checkpoint commits the
// transaction to bbolt, after which the WAL starts over.
//
// Every method except the counters is called from one goroutine, the owner (the
// journal's committer). Invariants:
//   - A group is answered exactly once: by Domain.Answer after it is durable (in a WAL
//     record, or in a checkpoint), or by Domain.Fail.
//   - A checkpoint's wal_lsn covers every record bbolt holds, and after a failed WAL
//     write every lsn handed out: a record that may be on disk but was not answered can
//     never be replayed over a checkpoint that did not include it.
//   - A failed checkpoint rolls back to the previous one and replays the WAL onto a new
//     transaction: only groups the WAL does not hold fail with it, and groups queued for
//     the WAL are written before it is tried.
//   - The owner never waits for the syncer while holding anything the syncer takes.
type Engine[G Group] struct {
	db     *bolt.DB
	log    *Log // nil: no WAL, every group waits for a checkpoint
	syncer *Syncer[G]
	dom    Domain[G]
	cfg    Config
	slog   *slog.Logger
	ran    chan struct{} // the syncer returned

	t        *bolt.Tx
	unsynced []unsynced[G] // in t, not durable: left to the next checkpoint
	needCkpt bool
	walFull  bool // a group did not fit in the WAL since the last checkpoint
	walBad   bool // the last WAL write failed: nothing more goes there until a checkpoint
	failed   error

	ckptErr      error // the last checkpoint's failure; nil after a success
	ckptBackoff  time.Duration
	ckptRetry    time.Time
	ckptFailedAt time.Time
	ckptLogged   time.Time

	walLSN      atomic.Uint64 // the last durable WAL record
	ckptLSN     atomic.Uint64 // the last WAL record bbolt holds
	pending     atomic.Int64  // WAL payload bytes since the last checkpoint
	checkpoints atomic.Uint64
	commits     atomic.Uint64 // durable group commits
}

type unsynced[G Group] struct {
	g      G
	logged bool
}

// New returns an engine over db and log (nil for none) and starts its syncer; Close
// stops it.
func New[G Group](db *bolt.DB, log *Log, dom Domain[G], cfg Config) *Engine[G] {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Wrap == nil {
		cfg.Wrap = func(err error) error { return err }
	}
	e := &Engine[G]{db: db, log: log, dom: dom, cfg: cfg, slog: cfg.Logger}
	e.walLSN.Store(cfg.LSN)
	e.ckptLSN.Store(cfg.LSN)
	if log != nil {
		e.syncer = NewSyncer(log, dom.Answer, func(lsn uint64, size int) {
			e.walLSN.Store(lsn)
			e.pending.Add(int64(size))
			e.commits.Add(1)
		})
		e.ran = make(chan struct{})
		go func() {
			defer close(e.ran)
			e.syncer.Run()
		}()
	}
	return e
}

// WALFailed is signalled when a WAL write failed or did not fit: the owner calls
// TakeBack. Nil (never ready) without a WAL.
func (e *Engine[G]) WALFailed() <-chan struct{} {
	if e.syncer == nil {
		return nil
	}
	return e.syncer.Failed()
}

// Tx returns the open write transaction, beginning one if none is open. Writes to it
// become durable only through Log or a checkpoint.
func (e *Engine[G]) Tx() (*bolt.Tx, error) {
	if e.failed != nil {
		return nil, e.failed
	}
	if e.t != nil {
		return e.t, nil
	}
	t, err := e.db.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	e.dom.Begun(t)
	e.t = t
	return t, nil
}

// Open says whether a write transaction is open.
func (e *Engine[G]) Open() bool { return e.t != nil }

// Log hands over g, whose writes are in the open transaction and whose WAL payload is
// g.Payload(). A group with an empty payload (a retry of an id, a refusal) is answered at
// once if nothing before it waits to be durable, else with what it waits for.
func (e *Engine[G]) Log(g G) {
	empty := len(g.Payload()) == 0
	switch {
	case empty && !e.NotDurable():
		e.dom.Answer(g)
	case e.log == nil || e.walBad:
		e.unsynced = append(e.unsynced, unsynced[G]{g: g})
		e.needCkpt = true
	default:
		e.syncer.Queue(g)
	}
}

// NotDurable says whether some group handed over is not durable yet.
func (e *Engine[G]) NotDurable() bool {
	return len(e.unsynced) > 0 || (e.syncer != nil && e.syncer.Pending())
}

// NeedsCheckpoint says whether only a checkpoint can make the groups handed over
// durable (no WAL, a failed WAL write, or a group that did not fit).
func (e *Engine[G]) NeedsCheckpoint() bool { return e.needCkpt }

// Unavailable says why a group cannot be made durable now without trying: only a
// checkpoint can (the WAL is full, or its last write failed) and the last one failed
// moments ago. Nil means go ahead.
func (e *Engine[G]) Unavailable() error {
	if e.log == nil || !(e.walFull || e.walBad) || !e.BackingOff() {
		return nil
	}
	return e.ckptErr
}

// TakeBack takes back the WAL writes that failed or did not fit; it says whether there
// were any. Their groups wait for the next checkpoint, which makes them durable or
// fails them.
func (e *Engine[G]) TakeBack() bool {
	if e.syncer == nil {
		return false
	}
	failed := e.syncer.TakeFailed()
	for _, l := range failed {
		e.takeBack(l)
	}
	return len(failed) > 0
}

// takeBack handles a write that failed or did not fit. After a failed write nothing
// goes to the WAL until a checkpoint holds everything: its record may be on disk, and
// only a checkpoint can skip its lsn.
func (e *Engine[G]) takeBack(l Landing[G]) {
	logged := false
	if errors.Is(l.Err, ErrFull) {
		e.walFull = true
	} else {
		if !e.walBad {
			e.slog.Error("write-ahead log write failed; checkpointing to bbolt instead", "journal", e.cfg.Path, "err", l.Err)
		}
		e.walBad, logged = true, true
	}
	for _, g := range l.Groups {
		e.unsynced = append(e.unsynced, unsynced[G]{g: g, logged: logged})
	}
	e.needCkpt = true
}

// quiesce lets the syncer write what is queued and holds it; every group handed over
// that is not durable is then in e.unsynced, in order.
func (e *Engine[G]) quiesce() {
	if e.syncer == nil {
		return
	}
	queued, failed := e.syncer.Quiesce()
	for _, l := range failed {
		e.takeBack(l)
	}
	for _, g := range queued {
		e.unsynced = append(e.unsynced, unsynced[G]{g: g})
	}
}

func (e *Engine[G]) resume() {
	if e.syncer != nil {
		e.syncer.Resume()
	}
}

// BackingOff says whether the last checkpoint failed so recently that an optional one
// should not be tried yet.
func (e *Engine[G]) BackingOff() bool {
	return e.ckptErr != nil && time.Now().Before(e.ckptRetry)
}

// RetryAt is when a failed checkpoint may be tried again, if one failed and the
// transaction is still open.
func (e *Engine[G]) RetryAt() (time.Time, bool) {
	return e.ckptRetry, e.ckptErr != nil && e.t != nil
}

// OptionalCheckpoint checkpoints unless a failed one is backing off; it returns the
// reason there is none.
func (e *Engine[G]) OptionalCheckpoint() error {
	if e.BackingOff() {
		return e.ckptErr
	}
	return e.Checkpoint()
}

// Checkpoint commits the open transaction to bbolt with the WAL position it holds, after
// which the WAL starts over; groups the WAL does not hold are durable by it and
// answered. On failure bbolt is back at the previous checkpoint and the WAL is replayed
// into a new transaction: nothing the WAL acknowledged is lost, the groups it did not
// hold fail.
func (e *Engine[G]) Checkpoint() error {
	e.quiesce()
	defer e.resume()
	e.needCkpt = false
	if e.t == nil {
		return nil
	}
	var skip uint64
	if e.log != nil && e.walBad {
		// Records after the last durable one may be intact on disk: skip their lsns, so
		// that none can ever be replayed over this checkpoint.
		skip = e.log.Reserved()
	}
	t := e.t
	e.t = nil
	lsn := max(e.walLSN.Load(), skip)
	err := e.cfg.SetLSN(t, lsn)
	if err == nil {
		err = e.dom.Checkpointing(t)
	}
	if err == nil {
		err = t.Commit()
	} else {
		t.Rollback()
	}
	if err != nil {
		err = fmt.Errorf("checkpoint: %w", e.cfg.Wrap(err))
		e.checkpointFailed(err)
		e.rollback(err)
		return err
	}
	if e.ckptErr != nil {
		e.slog.Info("journal checkpoint succeeded again", "journal", e.cfg.Path, "failed_for", time.Since(e.ckptFailedAt).Round(time.Millisecond))
	}
	e.ckptErr, e.ckptBackoff = nil, 0
	e.walBad, e.walFull = false, false
	e.walLSN.Store(lsn)
	e.ckptLSN.Store(lsn)
	e.pending.Store(0)
	if e.log != nil {
		e.log.Restart(lsn) // held by quiesce: no write in flight
	}
	e.checkpoints.Add(1)
	done := e.unsynced
	e.unsynced = nil
	if len(done) > 0 {
		e.commits.Add(1)
	}
	e.dom.Checkpointed()
	for _, u := range done {
		e.dom.Answer(u.g)
	}
	return nil
}

// checkpointFailed records a failed checkpoint for the backoff and logs it, at most once
// per logEvery while it keeps failing.
func (e *Engine[G]) checkpointFailed(err error) {
	now := time.Now()
	if e.ckptErr == nil {
		e.ckptFailedAt = now
		e.ckptBackoff = backoffMin
	} else {
		e.ckptBackoff = min(2*e.ckptBackoff, backoffMax)
	}
	e.ckptErr = err
	e.ckptRetry = now.Add(e.ckptBackoff)
	if now.Sub(e.ckptLogged) >= logEvery {
		e.ckptLogged = now
		e.slog.Error("journal checkpoint failed; commits go on in the write-ahead log while it has room",
			"journal", e.cfg.Path, "err", err, "failing_for", now.Sub(e.ckptFailedAt).Round(time.Millisecond))
	}
}

// Abort rolls the open transaction back to the last checkpoint, replays the WAL onto a
// new one and fails, with cause, the groups handed over that are not durable. The owner
// calls it when writing to the transaction failed part-way.
func (e *Engine[G]) Abort(cause error) {
	e.quiesce()
	defer e.resume()
	e.rollback(cause)
}

// rollback is Abort with the syncer held.
func (e *Engine[G]) rollback(cause error) {
	if e.t != nil {
		e.t.Rollback()
		e.t = nil
	}
	e.dom.RolledBack()
	e.needCkpt = false
	failed := e.unsynced
	e.unsynced = nil
	nUnknown := 0
	for _, u := range failed {
		if u.logged {
			nUnknown++
		}
		e.dom.Fail(u.g, cause, u.logged)
	}
	if len(failed) > 0 {
		e.slog.Error("journal commit failed", "journal", e.cfg.Path, "err", cause, "groups", len(failed), "outcome_unknown", nUnknown)
	}
	e.redo()
}

// redo replays the WAL records since the last checkpoint into a new open transaction. If
// even that fails the disk cannot be read back: every later write fails with the error.
func (e *Engine[G]) redo() {
	if e.log == nil || e.walLSN.Load() == e.ckptLSN.Load() {
		return
	}
	t, err := e.Tx()
	if err == nil {
		err = e.log.ReadFrom(e.ckptLSN.Load(), func(r Record) error {
			if r.LSN > e.walLSN.Load() {
				return nil
			}
			_, err := ApplyOps(t, r.Payload)
			return err
		})
	}
	if err != nil {
		if e.t != nil {
			e.t.Rollback()
			e.t = nil
		}
		e.failed = fmt.Errorf("journal %s: replaying the write-ahead log after a failed commit: %w", e.cfg.Path, err)
		e.slog.Error("journal stopped accepting writes", "err", e.failed)
	}
}

// Close makes everything handed over durable with a final checkpoint, stops the syncer
// and closes the log. It returns the checkpoint's error: what the WAL holds stays there
// for the next open to replay. The open transaction is never left open (bbolt's Close
// would wait for it).
func (e *Engine[G]) Close() error {
	err := e.Checkpoint()
	if e.t != nil {
		e.t.Rollback()
		e.t = nil
	}
	if e.syncer != nil {
		e.syncer.Stop()
		<-e.ran
		e.log.Close()
	}
	return err
}

// Synced says whether bbolt holds every durable WAL record (safe from any goroutine).
func (e *Engine[G]) Synced() bool { return e.walLSN.Load() == e.ckptLSN.Load() }

// PendingBytes is the WAL payload bbolt does not hold yet (safe from any goroutine).
func (e *Engine[G]) PendingBytes() int64 { return e.pending.Load() }

// Checkpoints counts the checkpoints since New (safe from any goroutine).
func (e *Engine[G]) Checkpoints() uint64 { return e.checkpoints.Load() }

// Commits counts the durable group commits since New (safe from any goroutine).
func (e *Engine[G]) Commits() uint64 { return e.commits.Load() }
