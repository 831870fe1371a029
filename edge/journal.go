package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options configure a journal.
type Options struct {
	// Depot is this depot's id; it is recorded in the database at creation and a database
	// of another depot is refused.
	Depot   string
	Catalog *Catalog // locations and units; nil means defaults only
	Logger  *slog.Logger
	Now     func() time.Time
	// MaxBatch bounds how many transactions share one bbolt commit (default 512).
	MaxBatch int
	// LockTimeout is how long Open waits for another process's lock (default 1 s).
	LockTimeout time.Duration
	// MaxDBSize is journal.max_db_size in bytes (0: no quota); see quota.go.
	MaxDBSize int64
}

// Journal is depotd's durable store: the transaction journal, the outbox (every seq above
// the ERP's ack watermark), the stock ledger, exceptions and master data, all in one bbolt
// file. It is safe for concurrent use. See the package doc for the durability contract.
type Journal struct {
	db    *bolt.DB
	path  string
	depot string
	cat   *Catalog
	log   *slog.Logger
	now   func() time.Time
	max   int

	reqs   chan *commitReq
	closed chan struct{}
	done   chan struct{}
	once   sync.Once

	last  atomic.Uint64
	acked atomic.Uint64

	mu        sync.Mutex
	committed chan struct{}

	commits atomic.Uint64 // bbolt commits made by the committer
	txs     atomic.Uint64 // transactions committed

	quota quota // see quota.go
}

type commitReq struct {
	tx    Transaction
	prune *pruneArgs // a pruning batch riding along with the commits (retention.go)
	done  chan commitRes
}

type commitRes struct {
	tx       Transaction
	existing bool
	err      error
	pruned   PruneResult
}

// Open opens (creating if needed) the journal at path.
func Open(path string, opts Options) (*Journal, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 512
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Catalog == nil {
		c, err := NewCatalog(nil, nil, nil)
		if err != nil {
			return nil, err
		}
		opts.Catalog = c
	}
	if opts.Depot == "" {
		return nil, fmt.Errorf("open journal %s: no depot id", path)
	}
	_, statErr := os.Stat(path)
	creating := errors.Is(statErr, os.ErrNotExist)
	// NoFreelistSync: a depot prunes old transactions for years, and a synced freelist of
	// that many free pages is rewritten by every commit (measured: 6.2 ms instead of 0.42 ms
	// per commit after pruning 1,000,000 transactions). The price is a freelist rebuilt at
	// open (0.4 s for 1,000,000 transactions), whose page reads ReleaseMemory gives back.
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        opts.LockTimeout,
		FreelistType:   bolt.FreelistMapType,
		NoFreelistSync: true,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open journal %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if creating {
		// bbolt fsyncs the file but not the directory entry: without this a power cut right
		// after the first commits could lose the whole file.
		if err := syncDir(filepath.Dir(path)); err != nil {
			db.Close()
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
	}
	if err := migrate(db, path, opts.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{
		db: db, path: path, depot: opts.Depot, cat: opts.Catalog, log: opts.Logger,
		now: opts.Now, max: opts.MaxBatch,
		reqs: make(chan *commitReq), closed: make(chan struct{}), done: make(chan struct{}),
		committed: make(chan struct{}),
	}
	if err := j.init(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j.quota.max = opts.MaxDBSize
	j.updateQuota()
	if err := j.ReleaseMemory(); err != nil {
		j.log.Warn("release pages read at open", "err", err)
	}
	go j.committer()
	return j, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func (j *Journal) init() error {
	return j.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keySchema); v == nil {
			if err := m.Put(keySchema, u64(SchemaVersion)); err != nil {
				return err
			}
		} else if s := getU64(v); s > SchemaVersion {
			return fmt.Errorf("%w: database schema %d, this depotd understands up to %d (upgrade depotd)", ErrSchemaTooNew, s, SchemaVersion)
		}
		if d := m.Get(keyDepot); d == nil {
			if err := m.Put(keyDepot, []byte(j.depot)); err != nil {
				return err
			}
		} else if string(d) != j.depot {
			return fmt.Errorf("database belongs to depot %q, config says %q", d, j.depot)
		}
		j.last.Store(getU64(m.Get(keyLastSeq)))
		j.acked.Store(getU64(m.Get(keyAckedSeq)))
		return nil
	})
}

// Path returns the database file path.
func (j *Journal) Path() string { return j.path }

// Depot returns the depot id.
func (j *Journal) Depot() string { return j.depot }

// Catalog returns the locations and units the journal validates against.
func (j *Journal) Catalog() *Catalog { return j.cat }

// DB exposes the bbolt handle for read-only diagnostics (backup, stats). Writers must go
// through the journal's methods.
func (j *Journal) DB() *bolt.DB { return j.db }

// Close stops the committer after the transactions already handed to it are committed, and
// closes the database.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.closed) })
	<-j.done
	return j.db.Close()
}

// Commit validates tx, assigns the next seq and commits it durably together with its
// effect on the stock ledger. It returns only after the commit is fsynced. A tx whose ID was
// committed before returns the original transaction with existing=true and writes nothing.
// Validation problems are *FieldError; a refused negative stock is a *StockError.
func (j *Journal) Commit(ctx context.Context, tx Transaction) (Transaction, bool, error) {
	if err := j.cat.Prepare(&tx); err != nil {
		return Transaction{}, false, err
	}
	if orig, existing, err := j.admit(tx); err != nil || existing {
		return orig, existing, err
	}
	r := &commitReq{tx: tx, done: make(chan commitRes, 1)}
	select {
	case j.reqs <- r:
	case <-j.closed:
		return Transaction{}, false, ErrClosed
	case <-ctx.Done():
		return Transaction{}, false, ctx.Err()
	}
	// Once handed over, wait for the outcome whatever ctx says: the caller must learn whether
	// its transaction was committed.
	res := <-r.done
	return res.tx, res.existing, res.err
}

// committer is the single writer. It takes every request waiting at the moment the previous
// bbolt commit finished and commits them together, so concurrent writers share fsyncs
// without any batching delay.
func (j *Journal) committer() {
	defer close(j.done)
	batch := make([]*commitReq, 0, j.max)
	for {
		batch = batch[:0]
		select {
		case r := <-j.reqs:
			batch = append(batch, r)
		case <-j.closed:
			return
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
		j.commitBatch(batch)
		// Measured after the callers have their answers, so the quota costs them nothing.
		j.updateQuota()
	}
}

func (j *Journal) commitBatch(batch []*commitReq) {
	results := make([]commitRes, len(batch))
	var newLast uint64
	now := j.now()
	err := j.db.Update(func(btx *bolt.Tx) error {
		for i := range results {
			results[i] = commitRes{}
		}
		if err := runCommitFault(); err != nil {
			return err
		}
		meta := btx.Bucket(bucketMeta)
		txb, idb := btx.Bucket(bucketTx), btx.Bucket(bucketTxID)
		last := getU64(meta.Get(keyLastSeq))
		excSeq := getU64(meta.Get(keyExcSeq))
		led := &boltLedger{b: btx.Bucket(bucketStock)}
		for i, r := range batch {
			if r.prune != nil {
				res, err := pruneInTx(btx, *r.prune)
				if err != nil {
					return err
				}
				results[i].pruned = res
				continue
			}
			if s := idb.Get([]byte(r.tx.ID)); s != nil {
				orig, err := decodeTx(txb.Get(s))
				if err != nil {
					return err
				}
				results[i] = commitRes{tx: orig, existing: true}
				continue
			}
			tx := r.tx
			at := now
			tx.At = &at
			o := newOverlay(led)
			if err := applyTx(j.cat, o, &tx, true); err != nil {
				return err
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
			raw, err := json.Marshal(&tx)
			if err != nil {
				return err
			}
			if err := txb.Put(u64(last), raw); err != nil {
				return err
			}
			if err := idb.Put([]byte(tx.ID), u64(last)); err != nil {
				return err
			}
			if err := o.flush(); err != nil {
				return err
			}
			for _, e := range excs {
				excSeq++
				e.ID, e.Seq, e.At = excSeq, last, now
				if err := putException(btx, e); err != nil {
					return err
				}
			}
			results[i].tx = tx
		}
		newLast = last
		if err := meta.Put(keyExcSeq, u64(excSeq)); err != nil {
			return err
		}
		return meta.Put(keyLastSeq, u64(last))
	})
	if err != nil {
		err = fmt.Errorf("commit to journal %s: %w", j.path, storageErr(err))
		j.log.Error("journal commit failed", "err", err, "batch", len(batch))
		for i := range results {
			results[i] = commitRes{err: err}
		}
	} else {
		n := newLast - j.last.Load()
		j.last.Store(newLast)
		j.commits.Add(1)
		j.txs.Add(n)
		if n > 0 {
			j.signalCommitted()
		}
	}
	for i, r := range batch {
		r.done <- results[i]
	}
}

// BaseQtyOrQty returns the line's quantity in the ledger's unit.
func (l Line) BaseQtyOrQty() Qty {
	if l.BaseQty != nil {
		return *l.BaseQty
	}
	return l.Qty
}

func (j *Journal) signalCommitted() {
	j.mu.Lock()
	close(j.committed)
	j.committed = make(chan struct{})
	j.mu.Unlock()
}

// Committed returns a channel that is closed at the next commit after the call.
func (j *Journal) Committed() <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.committed
}

// Stats reports how many bbolt commits carried how many transactions since Open.
func (j *Journal) Stats() (commits, txs uint64) { return j.commits.Load(), j.txs.Load() }

type boltLedger struct{ b *bolt.Bucket }

func (l *boltLedger) get(k stockKey) (stockRec, error) {
	v := l.b.Get(k.bytes())
	if v == nil {
		return stockRec{}, nil
	}
	var r stockRec
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("stock row %q: %w", k.bytes(), err)
	}
	return r, nil
}

func (l *boltLedger) put(k stockKey, r stockRec) error {
	if r.Qty.IsZero() && r.ERP.IsZero() {
		return l.b.Delete(k.bytes())
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return l.b.Put(k.bytes(), v)
}

func decodeTx(raw []byte) (Transaction, error) {
	var t Transaction
	if raw == nil {
		return t, fmt.Errorf("journal index points at a missing transaction")
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return t, fmt.Errorf("decode transaction: %w", err)
	}
	return t, nil
}

// Get returns the transaction with the given seq.
func (j *Journal) Get(seq uint64) (Transaction, error) {
	var t Transaction
	err := j.db.View(func(btx *bolt.Tx) error {
		v := btx.Bucket(bucketTx).Get(u64(seq))
		if v == nil {
			return ErrNotFound
		}
		var err error
		t, err = decodeTx(v)
		return err
	})
	return t, err
}

// GetByID returns the transaction with the given client id.
func (j *Journal) GetByID(id string) (Transaction, error) {
	var t Transaction
	err := j.db.View(func(btx *bolt.Tx) error {
		s := btx.Bucket(bucketTxID).Get([]byte(id))
		if s == nil {
			return ErrNotFound
		}
		var err error
		t, err = decodeTx(btx.Bucket(bucketTx).Get(s))
		return err
	})
	return t, err
}

// List returns up to limit transactions with seq > after, in seq order.
func (j *Journal) List(after uint64, limit int) ([]Transaction, error) {
	var out []Transaction
	err := j.Scan(context.Background(), after, func(seq uint64, raw []byte) error {
		t, err := decodeTx(raw)
		if err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		out = append(out, t)
		if len(out) >= limit {
			return errStopScan
		}
		return nil
	})
	if errors.Is(err, errStopScan) {
		err = nil
	}
	return out, err
}

var errStopScan = errors.New("stop scan")

// scanChunk bounds how long one read transaction stays open: long read transactions keep
// bbolt from reusing pages and block remapping.
const scanChunk = 256

// Scan calls fn for each committed transaction with seq > after, in seq order, with its
// stored JSON (a copy fn may keep). It reads in bounded chunks so that memory stays flat
// whatever the backlog. It stops at the first error from fn and returns it.
func (j *Journal) Scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error {
	type item struct {
		seq uint64
		raw []byte
	}
	buf := make([]item, 0, scanChunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf = buf[:0]
		err := j.db.View(func(btx *bolt.Tx) error {
			c := btx.Bucket(bucketTx).Cursor()
			for k, v := c.Seek(u64(after + 1)); k != nil && len(buf) < scanChunk; k, v = c.Next() {
				buf = append(buf, item{getU64(k), bytes.Clone(v)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		for _, it := range buf {
			if err := fn(it.seq, it.raw); err != nil {
				return err
			}
			after = it.seq
		}
	}
}

// Positions returns the last committed seq and the ERP's ack watermark.
func (j *Journal) Positions() (last, acked uint64) { return j.last.Load(), j.acked.Load() }

// Status is the journal's part of depotd's status.
type Status struct {
	Depot          string  `json:"depot"`
	LastSeq        uint64  `json:"last_seq"`
	AckedSeq       uint64  `json:"acked_seq"`
	Backlog        uint64  `json:"backlog"`
	OldestPendingS float64 `json:"oldest_pending_s"`
	OpenExceptions int     `json:"open_exceptions"`
}

// Status reports positions, backlog and the age of the oldest unacknowledged transaction.
func (j *Journal) Status() (Status, error) {
	s := Status{Depot: j.depot}
	err := j.db.View(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		s.LastSeq, s.AckedSeq = getU64(m.Get(keyLastSeq)), getU64(m.Get(keyAckedSeq))
		s.Backlog = s.LastSeq - s.AckedSeq
		if s.Backlog > 0 {
			if raw := btx.Bucket(bucketTx).Get(u64(s.AckedSeq + 1)); raw != nil {
				var head struct {
					At *time.Time `json:"at"`
				}
				if json.Unmarshal(raw, &head) == nil && head.At != nil {
					s.OldestPendingS = roundSeconds(j.now().Sub(*head.At))
				}
			}
		}
		s.OpenExceptions = countOpenExceptions(btx)
		return nil
	})
	return s, err
}

func roundSeconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return float64(d.Milliseconds()) / 1000
}

// NextSession increments the persisted uplink session counter (fsynced) and returns it.
func (j *Journal) NextSession() (uint64, error) {
	var s uint64
	err := j.db.Update(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		s = getU64(m.Get(keySession)) + 1
		return m.Put(keySession, u64(s))
	})
	if err != nil {
		return 0, fmt.Errorf("next uplink session in %s: %w", j.path, err)
	}
	return s, nil
}
