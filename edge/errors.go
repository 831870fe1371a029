package edge

import (
	"errors"
	"fmt"

	"github.com/depotd/depotd/edge/engine"
)

var (
	// ErrClosed is returned by a journal after Close.
	ErrClosed = errors.New("journal is closed")
	// ErrNotFound means no transaction has that seq (or id).
	ErrNotFound = errors.New("not found")
	// ErrNegativeStock means a transaction would take a quantity below zero at a location
	// whose type refuses negative stock; nothing was written.
	ErrNegativeStock = errors.New("negative stock refused")
	// ErrAckBeyondLast means an ack claimed seqs the journal never committed; it is refused whole.
	ErrAckBeyondLast = errors.New("ack beyond last committed seq")
	// ErrInvalidAck means an ack is inconsistent (a rejected seq above upto_seq, seq 0).
	ErrInvalidAck = errors.New("invalid ack")
	// ErrLocked means another process (another depotd) holds the database file.
	ErrLocked = errors.New("database is locked by another process (is another depotd running on this data dir?)")
	// ErrSchemaTooNew means the database was written by a newer depotd; this one will not touch it.
	ErrSchemaTooNew = errors.New("database schema is newer than this depotd")
	// ErrIDConflict means a transaction id was reused for different content.
	ErrIDConflict = errors.New("transaction id already used")
	// ErrDiskFull means new transactions are refused for lack of space: the database reached
	// 95 % of journal.max_db_size, or the filesystem answered ENOSPC. The transaction it
	// answers was not committed; acks and pruning still run, so posting resumes by itself
	// once space returns.
	ErrDiskFull = errors.New("no space for new transactions")
	// ErrOutcomeUnknown means the journal cannot say whether a transaction was committed:
	// the WAL write holding it failed after it may have reached the disk, and so did the
	// checkpoint that would have replaced it. The next start may replay it. Ids are
	// idempotent, so retrying with the same id is always safe and tells the outcome.
	ErrOutcomeUnknown = errors.New("outcome unknown: retry with the same id")
	// ErrWALCorrupt means the write-ahead log is damaged before its end: a record is
	// unreadable while a later one is intact, which a torn write cannot do. Open refuses
	// the journal rather than reuse the seqs the unreadable records held.
	ErrWALCorrupt = engine.ErrCorrupt
	// ErrBadBackup means a backup file failed verification (checksum, bbolt consistency,
	// layout or depot); restore writes nothing.
	ErrBadBackup = errors.New("backup file failed verification")
	// ErrFloorUnknown means a restore was refused because the database it would replace
	// cannot be read and no floor was given (RestoreOptions.Floor, depotd restore --floor):
	// without either, seqs the ERP may have seen could be reused. Nothing was changed.
	ErrFloorUnknown = errors.New("restore refused: the seq floor is unknown")
	// ErrTooManyVoids means a restore was refused because its floor lies more than
	// MaxRestoreVoids seqs above the backup: each skipped seq would become a void
	// transaction to forward. Nothing was changed.
	ErrTooManyVoids = errors.New("restore refused: too many seqs to void")
	// ErrUnackedDropped means a restore was refused because the database it would replace
	// holds transactions the ERP never acknowledged that the backup does not hold: the
	// restore would drop them (RestoreOptions.Force exports them and goes ahead). Nothing
	// was changed.
	ErrUnackedDropped = errors.New("restore refused: it would drop transactions the ERP never acknowledged")
)

// FieldError is a validation error that names the offending field by its JSON path
// ("lines[2].qty"), so the API and the console can point at it.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// StockError says which line would go negative, wrapping ErrNegativeStock.
type StockError struct {
	Field    string // lines[i]
	Item     string
	Location string
	Lot      string
	State    StockState
	Have     Qty
	Need     Qty
}

func (e *StockError) Error() string {
	return fmt.Sprintf("%s: %s at %s (lot %q, %s): %s on hand, %s needed: negative stock refused at this location type",
		e.Field, e.Item, e.Location, e.Lot, e.State, e.Have, e.Need)
}

func (e *StockError) Unwrap() error { return ErrNegativeStock }

// WALCorruptError says where the write-ahead log is damaged (see engine.CorruptError);
// it wraps ErrWALCorrupt.
type WALCorruptError = engine.CorruptError

// IDConflictError says a transaction id was posted again with a different content: not
// a retry, and refused. It wraps ErrIDConflict.
type IDConflictError struct {
	ID  string
	Seq uint64 // the original's
}

func (e *IDConflictError) Error() string {
	return fmt.Sprintf("id %s was already used for a different transaction (seq %d): a retry must send the same "+
		"transaction, a new transaction needs a new id", e.ID, e.Seq)
}

func (e *IDConflictError) Unwrap() error { return ErrIDConflict }
