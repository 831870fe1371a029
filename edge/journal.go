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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/depotd/depotd/edge/engine"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Options configure a journal.
type Options struct {
	// Depot is this depot's id; it is recorded in the database at creation and a database
	// of another depot is refused.
	Depot   string
	Catalog *Catalog // locations and units; nil means defaults only
	// Master is the config's master data, merged with the ERP's into the one view every
	// commit is checked against (MasterView).
	Master MasterData
	Logger *slog.Logger
	Now    func() time.Time
	// MaxBatch bounds how many transactions share one bbolt commit (default 512).
	MaxBatch int
	// LockTimeout is how long Open waits for another process's lock (default 1 s).
	LockTimeout time.Duration
	// MaxDBSize is journal.max_db_size in bytes (0: no quota); see quota.go.
	MaxDBSize int64
	// WALSize is the write-ahead log's fixed size (default DefaultWALSize); negative means
	// no WAL, every group commit going straight to bbolt.
	WALSize int64
	// CheckpointIdle is how long the committer waits without new work, once every group
	// is durable, before it makes what only the WAL holds visible to followers (default
	// 5 ms); CheckpointEvery bounds how long that can take under continuous load (default
	// 1 s). Reads that must see the latest commits checkpoint at once whatever these say.
	CheckpointIdle  time.Duration
	CheckpointEvery time.Duration
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

	// masterGen is moved by every PutMaster once its write is visible: it tells masterView
	// when to rebuild.
	masterGen atomic.Uint64
	// master is the config's master data; masterView caches its merge with the ERP's
	// (MasterView), which every commit, request and scan reads.
	master     MasterData
	masterView masterViewCache
	// unacked keeps the stock views' figures of the unacknowledged backlog (stock_unacked.go).
	unacked unackedCache

	reqs   chan *commitReq
	closed chan struct{}
	done   chan struct{}
	once   sync.Once

	// Owned by the committer (committer.go).
	eng       *engine.Engine[*group]
	wal       *engine.Log           // nil: none could be allocated
	rows      map[stockKey]stockRec // decoded stock rows of the open transaction (boltLedger)
	closeErr  error                 // what the final checkpoint could not do, for Close
	ckptEvery time.Duration
	ckptIdle  time.Duration

	last  atomic.Uint64
	acked atomic.Uint64

	mu           sync.Mutex
	committed    chan struct{}
	checkpointed chan struct{}
	visible      atomic.Uint64 // the last seq bbolt holds

	commits atomic.Uint64 // durable group commits (see Stats)
	txs     atomic.Uint64 // transactions committed

	quota quota // see quota.go
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
	if opts.WALSize == 0 {
		opts.WALSize = DefaultWALSize
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = time.Second
	}
	if opts.CheckpointIdle <= 0 {
		opts.CheckpointIdle = 5 * time.Millisecond
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
		Timeout:         opts.LockTimeout,
		FreelistType:    bolt.FreelistMapType,
		NoFreelistSync:  true,
		InitialMmapSize: initialMmap,
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
		if err := engine.SyncDir(filepath.Dir(path)); err != nil {
			db.Close()
			return nil, fmt.Errorf("open journal %s: %w", path, err)
		}
	}
	// Replay before migrating: the WAL holds writes in the layout that wrote it (migrate.go).
	// A layout too new to understand is refused before the replay writes anything.
	if v, err := schemaOf(db); err != nil || v > schemaTarget {
		if err == nil {
			err = schemaTooNew(path, v)
		}
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if n, err := replayWAL(db, path); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	} else if n > 0 {
		opts.Logger.Info("replayed the write-ahead log", "records", n, "wal", WALPath(path))
	}
	if err := migrate(db, path, opts.Logger); err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j := &Journal{
		db: db, path: path, depot: opts.Depot, cat: opts.Catalog, log: opts.Logger,
		master: opts.Master, now: opts.Now, max: opts.MaxBatch, ckptEvery: opts.CheckpointEvery, ckptIdle: opts.CheckpointIdle,
		reqs: make(chan *commitReq), closed: make(chan struct{}), done: make(chan struct{}),
		committed: make(chan struct{}), checkpointed: make(chan struct{}),
	}
	walID, walLSN, err := j.init()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	if opts.WALSize > 0 {
		// Without its WAL (a disk too full to allocate it) the journal still works, with
		// two fdatasyncs per group commit instead of one.
		if j.wal, err = openWAL(WALPath(path), opts.WALSize, walID, walLSN); err != nil {
			j.log.Warn("write-ahead log unavailable: every commit goes straight to bbolt", "err", err)
		}
	}
	j.eng = engine.New(db, j.wal, &journalDomain{j: j}, engine.Config{
		Path: path, Logger: j.log, LSN: walLSN, Wrap: storageErr,
		SetLSN: func(t *bolt.Tx, lsn uint64) error { return t.Bucket(bucketMeta).Put(keyWALLSN, u64(lsn)) },
	})
	j.quota.max = opts.MaxDBSize
	j.updateQuota(j.db.Update) // the committer is not running yet
	if err := j.ReleaseMemory(); err != nil {
		j.log.Warn("release pages read at open", "err", err)
	}
	go j.committer()
	return j, nil
}

// initialMmap (256 MiB, 64 MiB on 32-bit gateways, which have little address space to
// spare) is address space, not memory or disk: the file grows only as written. A
// checkpoint that grows the file past the mapping must remap, copying every node of its
// transaction out of the old mapping first, and waits for every reader.
const initialMmap = 256<<20*(strconv.IntSize/64) + 64<<20*(1-strconv.IntSize/64)

// init creates what is missing and returns the WAL identity and position.
func (j *Journal) init() (walID, walLSN uint64, err error) {
	err = j.db.Update(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		m := tx.Bucket(bucketMeta)
		if v := m.Get(keySchema); v == nil {
			if err := m.Put(keySchema, u64(uint64(schemaTarget))); err != nil {
				return err
			}
		} else if s := getU64(v); s > uint64(schemaTarget) {
			return fmt.Errorf("%w: database schema %d, this depotd understands up to %d (upgrade depotd)", ErrSchemaTooNew, s, schemaTarget)
		}
		if d := m.Get(keyDepot); d == nil {
			if err := m.Put(keyDepot, []byte(j.depot)); err != nil {
				return err
			}
		} else if string(d) != j.depot {
			return fmt.Errorf("database belongs to depot %q, config says %q", d, j.depot)
		}
		if m.Get(keyWALID) == nil {
			id, err := newWALID()
			if err != nil {
				return err
			}
			if err := m.Put(keyWALID, id); err != nil {
				return err
			}
		}
		walID, walLSN = getU64(m.Get(keyWALID)), getU64(m.Get(keyWALLSN))
		j.last.Store(getU64(m.Get(keyLastSeq)))
		j.visible.Store(j.last.Load())
		j.acked.Store(getU64(m.Get(keyAckedSeq)))
		return nil
	})
	return walID, walLSN, err
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
// It returns even when the final checkpoint fails (a full disk): the write-ahead log keeps
// what it holds, the next Open replays it, and the error says so.
func (j *Journal) Close() error {
	j.once.Do(func() { close(j.closed) })
	<-j.done
	return errors.Join(j.closeErr, j.db.Close())
}

// Commit validates tx, assigns the next seq and commits it durably together with its
// effect on the stock ledger. It returns only after the commit is fsynced. A tx whose ID was
// committed before returns the original transaction with existing=true and writes nothing.
// Validation problems are *FieldError; a refused negative stock is a *StockError.
func (j *Journal) Commit(ctx context.Context, tx Transaction) (Transaction, bool, error) {
	return j.CommitRaising(ctx, tx, nil)
}

// CommitRaising is Commit that also raises excs, in the same commit as the transaction,
// with its seq: a caller that finds something for a supervisor to look at (an item the
// master data does not know) cannot lose it in a crash. A retry of a committed id raises
// nothing again.
func (j *Journal) CommitRaising(ctx context.Context, tx Transaction, excs []Exception) (Transaction, bool, error) {
	stored, _, existing, err := j.CommitRaisingJSON(ctx, tx, excs)
	return stored, existing, err
}

// CommitRaisingJSON is CommitRaising that also returns, for a new commit, the committed
// transaction encoded as json.Marshal encodes it: the bytes the journal stored, so that a
// caller answering in JSON need not encode it again. They are shared with the journal
// and must not be modified. For an existing transaction (or an error) they are nil.
func (j *Journal) CommitRaisingJSON(ctx context.Context, tx Transaction, excs []Exception) (Transaction, []byte, bool, error) {
	if err := j.cat.Prepare(&tx); err != nil {
		return Transaction{}, nil, false, err
	}
	// On a read error v is the last view built: the commit, reading the same database,
	// then fails on its own and says so.
	v, _ := j.MasterView()
	if err := j.checkMaster(v, &tx); err != nil {
		return Transaction{}, nil, false, err
	}
	if orig, existing, err := j.admit(tx); err != nil || existing {
		return orig, nil, existing, err
	}
	if hasWeight(tx) {
		// A line counted and weighed that disagree: on every path, raised in the
		// transaction's own commit.
		if w := v.WeightExceptions(tx); len(w) > 0 {
			excs = append(excs[:len(excs):len(excs)], w...)
		}
	}
	// Encoded here, in parallel with other callers, rather than by the single committer.
	tx.Seq, tx.At = 0, nil
	r := &commitReq{tx: tx, raise: excs, done: make(chan commitRes, 1)}
	r.pre, r.preID = preEncode(&tx)
	select {
	case j.reqs <- r:
	case <-j.closed:
		return Transaction{}, nil, false, ErrClosed
	case <-ctx.Done():
		return Transaction{}, nil, false, ctx.Err()
	}
	// Once handed over, wait for the outcome whatever ctx says: the caller must learn whether
	// its transaction was committed.
	res := <-r.done
	if res.err != nil || res.existing {
		res.raw = nil
	}
	return res.tx, res.raw, res.existing, res.err
}

// checkMaster holds tx to its items' tracking rules (MasterView.Check). A retry of an id
// already committed is let through to the committer, which answers with the original (or
// 409): master data that changed since must not make a committed transaction look
// refused.
func (j *Journal) checkMaster(v *MasterView, tx *Transaction) error {
	cerr := v.Check(tx)
	if cerr == nil {
		return nil
	}
	if _, gerr := j.GetByID(tx.ID); gerr == nil {
		return nil
	}
	return cerr
}

// BaseQtyOrQty returns the line's quantity in the ledger's unit.
func (l Line) BaseQtyOrQty() Qty {
	if l.BaseQty != nil {
		return *l.BaseQty
	}
	return l.Qty
}

func (j *Journal) signalCommitted() { j.signal(&j.committed) }

func (j *Journal) signal(ch *chan struct{}) {
	j.mu.Lock()
	close(*ch)
	*ch = make(chan struct{})
	j.mu.Unlock()
}

func (j *Journal) waitFor(ch *chan struct{}) <-chan struct{} {
	j.mu.Lock()
	defer j.mu.Unlock()
	return *ch
}

// Committed returns a channel that is closed at the next durable commit after the call.
func (j *Journal) Committed() <-chan struct{} { return j.waitFor(&j.committed) }

// Checkpointed returns a channel that is closed at the next checkpoint after the call that
// makes new transactions visible to ScanCheckpointed. Followers (the uplink, live views)
// wait on it rather than on Committed, so that they do not force a checkpoint per commit.
func (j *Journal) Checkpointed() <-chan struct{} { return j.waitFor(&j.checkpointed) }

// Stats reports how many durable group commits (WAL writes, or bbolt commits where the
// WAL could not take a group) carried how many transactions since Open.
func (j *Journal) Stats() (commits, txs uint64) { return j.eng.Commits(), j.txs.Load() }

// Checkpoints reports how many times the WAL was checkpointed into bbolt since Open.
func (j *Journal) Checkpoints() uint64 { return j.eng.Checkpoints() }

// boltLedger reads the stock bucket and writes through w. The committer gives it rows, its
// cache of decoded rows, valid as long as only its own group commits write the bucket.
type boltLedger struct {
	b    *bolt.Bucket
	w    writer
	rows map[stockKey]stockRec
}

func (l *boltLedger) get(k stockKey) (stockRec, error) {
	if r, ok := l.rows[k]; ok {
		return r, nil
	}
	var r stockRec
	if v := l.b.Get(k.bytes()); v != nil {
		if err := json.Unmarshal(v, &r); err != nil {
			return r, fmt.Errorf("stock row %q: %w", k.bytes(), err)
		}
	}
	if l.rows != nil {
		l.rows[k] = r
	}
	return r, nil
}

// encode is json.Marshal(r), byte for byte, without reflection: the committer encodes a
// row for every line it commits.
func (r stockRec) encode() []byte {
	b := make([]byte, 0, 32)
	b = append(b, `{"erp":"`...)
	b = append(b, r.ERP.String()...)
	b = append(b, `","qty":"`...)
	b = append(b, r.Qty.String()...)
	return append(b, `"}`...)
}

func (l *boltLedger) put(k stockKey, r stockRec) error {
	if l.rows != nil {
		// Set before the write: a failed write aborts the group, which drops the cache.
		l.rows[k] = r
	}
	if r.Qty.IsZero() && r.ERP.IsZero() {
		return l.w.del(bucketStock, k.bytes())
	}
	return l.w.put(bucketStock, k.bytes(), r.encode())
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
	err := j.view(func(btx *bolt.Tx) error {
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
	err := j.view(func(btx *bolt.Tx) error {
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
	return j.scan(ctx, after, fn, j.view)
}

// ScanCheckpointed is Scan over what the last checkpoint holds: it never waits for one.
// Followers use it with Checkpointed.
func (j *Journal) ScanCheckpointed(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error) error {
	return j.scan(ctx, after, fn, j.db.View)
}

func (j *Journal) scan(ctx context.Context, after uint64, fn func(seq uint64, raw []byte) error, view func(func(*bolt.Tx) error) error) error {
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
		err := view(func(btx *bolt.Tx) error {
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
	// OpenRejections counts the open exceptions that record an ERP rejection (they are
	// also in OpenExceptions): central ops watch them apart, as only the ERP side can
	// usually fix them.
	OpenRejections int `json:"open_rejections"`
}

// Status reports positions, backlog and the age of the oldest unacknowledged transaction.
func (j *Journal) Status() (Status, error) {
	s := Status{Depot: j.depot}
	err := j.view(func(btx *bolt.Tx) error {
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
		s.OpenRejections = countOpenRejections(btx)
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
	err := j.update(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		s = getU64(m.Get(keySession)) + 1
		return m.Put(keySession, u64(s))
	})
	if err != nil {
		return 0, fmt.Errorf("next uplink session in %s: %w", j.path, err)
	}
	return s, nil
}
