package edge

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// Disk quota. The database's live size is bbolt's high-water mark (the pages a reader could
// reach) minus its free pages, because pruning frees pages that later commits reuse while
// the file itself never shrinks. Crossing QuotaWarn raises one disk_space exception;
// crossing QuotaRefuse makes Commit refuse new transactions with ErrDiskFull. Acks,
// sessions, exceptions and pruning go on, so depotd recovers by itself as the ERP acks and
// the pruner frees pages.
const (
	QuotaWarn   = 0.80
	QuotaRefuse = 0.95
	// quotaRearm is where the warning re-arms after it fired: without the gap a database
	// hovering at 80 % would raise an exception per commit.
	quotaRearm = 0.75
)

// quota is the journal's view of its size. One owner writes it: the committer, after every
// group (and Open, before the committer starts). Others only read the atomics, so nothing
// that measures waits for the committer while holding state the committer needs.
type quota struct {
	max    int64
	used   atomic.Int64
	refuse atomic.Bool
	warned bool // committer only
}

// DiskUsage is the journal's size against journal.max_db_size.
type DiskUsage struct {
	Used     int64   `json:"used_bytes"` // live bytes (high-water mark minus free pages)
	FileSize int64   `json:"file_bytes"` // high-water mark: what the file needs
	Max      int64   `json:"max_bytes"`  // 0: no quota
	Fraction float64 `json:"fraction"`   // Used/Max
	Refusing bool    `json:"refusing"`   // new transactions are refused (≥ 95 %)
}

// DiskUsage measures the database now.
func (j *Journal) DiskUsage() (DiskUsage, error) {
	var size int64
	if err := j.db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return DiskUsage{}, err
	}
	// FreeAlloc is refreshed when a read transaction closes, so it follows the View above.
	// What only the WAL holds yet counts by its size there (the committer checkpoints
	// under a quota before that exceeds 1 % of it).
	used := size - int64(j.db.Stats().FreeAlloc) + j.eng.PendingBytes()
	u := DiskUsage{Used: used, FileSize: size, Max: j.quota.max}
	if u.Max > 0 {
		u.Fraction = float64(used) / float64(u.Max)
		u.Refusing = u.Fraction >= QuotaRefuse
	}
	return u, nil
}

// updateQuota re-measures after a write and moves the thresholds. It never fails the
// write that called it: a failed measurement only logs. write makes the disk_space
// exception durable: the committer passes its own runFn, Open bbolt's Update. Only those
// two call it (see quota).
func (j *Journal) updateQuota(write func(func(*bolt.Tx) error) error) {
	if j.quota.max <= 0 {
		return
	}
	u, err := j.DiskUsage()
	if err != nil {
		j.log.Warn("measure database size", "err", err)
		return
	}
	j.quota.used.Store(u.Used)
	was := j.quota.refuse.Swap(u.Refusing)
	if u.Refusing && !was {
		j.log.Error("database near journal.max_db_size: refusing new transactions until acks and pruning free space",
			"used_bytes", u.Used, "max_bytes", u.Max)
	} else if !u.Refusing && was {
		j.log.Info("database below the refusal threshold again: accepting transactions", "used_bytes", u.Used, "max_bytes", u.Max)
	}
	switch {
	case u.Fraction >= QuotaWarn && !j.quota.warned:
		j.quota.warned = true
		msg := fmt.Sprintf("database at %.0f %% of journal.max_db_size (%s of %s): new transactions are refused at %.0f %%. "+
			"Check that the uplink delivers (acked transactions are pruned after journal.retention), "+
			"or raise journal.max_db_size if the disk allows.",
			100*u.Fraction, ByteSize(u.Used), ByteSize(u.Max), 100*QuotaRefuse)
		j.log.Warn("database size warning", "used_bytes", u.Used, "max_bytes", u.Max)
		if _, err := j.raiseException(write, Exception{Kind: ExcDiskSpace, Message: msg}); err != nil {
			j.log.Error("raise disk_space exception", "err", err)
		}
	case u.Fraction < quotaRearm && j.quota.warned:
		j.quota.warned = false
	}
}

// measureQuota has the committer checkpoint (so that bbolt has freed what pruning
// released) and re-measure the quota before it returns.
func (j *Journal) measureQuota() {
	if j.quota.max <= 0 {
		return
	}
	if err := j.submit(&commitReq{sync: true, measure: true}).err; err != nil && !errors.Is(err, ErrClosed) {
		j.log.Debug("quota measured on the last checkpoint", "err", err)
	}
}

// admit refuses a new transaction while the quota is exceeded. A retry of a transaction
// already committed still gets its original answer, so clients can learn their outcome.
func (j *Journal) admit(tx Transaction) (Transaction, bool, error) {
	if !j.quota.refuse.Load() {
		return Transaction{}, false, nil
	}
	if orig, err := j.GetByID(tx.ID); err == nil {
		return retryOf(tx, orig)
	}
	return Transaction{}, false, fmt.Errorf("%w: the database holds %s of journal.max_db_size %s (%.0f %% reached); "+
		"it accepts transactions again once the ERP acknowledges the backlog and old ones are pruned",
		ErrDiskFull, ByteSize(j.quota.used.Load()), ByteSize(j.quota.max), 100*QuotaRefuse)
}

// storageErr maps a full filesystem to ErrDiskFull. bbolt formats some errors with %s
// (file resize), so the text is matched as well as the errno.
func storageErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrDiskFull) {
		return err // mapped already: say it once
	}
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) ||
		strings.Contains(err.Error(), syscall.ENOSPC.Error()) || strings.Contains(err.Error(), syscall.EDQUOT.Error()) {
		return fmt.Errorf("%w: the filesystem holding the database is full (%v)", ErrDiskFull, err)
	}
	return err
}

// commitFault, when set (tests only, through export_test.go), runs inside every commit's
// bbolt transaction before anything is written; an error it returns fails the commit as
// a failing disk would. It simulates ENOSPC where mounting a small filesystem is not
// permitted; where it is, the tests use a real tmpfs instead.
var commitFault faultHook

// checkpointFault, when set (tests only), fails checkpoints as a failing disk would,
// before bbolt commits: the previous checkpoint stays the valid one.
var checkpointFault faultHook

// faultHook is a test's stand-in for a failing disk (export_test.go sets it).
type faultHook struct{ f atomic.Pointer[func() error] }

func (h *faultHook) set(f func() error) {
	if f == nil {
		h.f.Store(nil)
		return
	}
	h.f.Store(&f)
}

func (h *faultHook) run() error {
	if f := h.f.Load(); f != nil {
		return (*f)()
	}
	return nil
}
