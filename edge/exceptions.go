package edge

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ExceptionKind classifies what a supervisor must look at.
type ExceptionKind string

const (
	ExcNegativeStock    ExceptionKind = "negative_stock"
	ExcCountDiscrepancy ExceptionKind = "count_discrepancy"
	ExcERPRejected      ExceptionKind = "erp_rejected"
	ExcUnknownItem      ExceptionKind = "unknown_item"
	ExcUnresolvedScan   ExceptionKind = "unresolved_scan"
	ExcDiskSpace        ExceptionKind = "disk_space"
	// ExcConsumptionAnomaly is raised by package anomaly: an item's consumption departs
	// from its history. Code is the direction and the day the departure was first seen.
	ExcConsumptionAnomaly ExceptionKind = "consumption_anomaly"
	// ExcWeightMismatch: a station weighed a packaging whose weight disagrees with its
	// nominal quantity beyond the tolerance, or a posted line's weight disagrees with its
	// counted quantity (MasterView.WeightExceptions); Evidence has both figures.
	ExcWeightMismatch ExceptionKind = "weight_mismatch"
)

// Exception is a record a supervisor sees and resolves. It is journalled in the same
// commit as what raised it.
type Exception struct {
	ID       uint64        `json:"id"`
	Kind     ExceptionKind `json:"kind"`
	Seq      uint64        `json:"seq,omitempty"` // the transaction it concerns
	At       time.Time     `json:"at"`
	Item     string        `json:"item,omitempty"`
	Location string        `json:"location,omitempty"`
	Lot      string        `json:"lot,omitempty"`
	Code     string        `json:"code,omitempty"`
	Message  string        `json:"message"`
	// Station, Device and Raw keep an unresolved scan: where it was read and its bytes
	// exactly as they arrived (base64 in JSON, so nothing is lost to UTF-8 repair).
	Station string `json:"station,omitempty"`
	Device  string `json:"device,omitempty"`
	Raw     []byte `json:"raw,omitempty"`
	// Evidence holds the figures an exception derived from the journal was judged on
	// (expected and observed consumption, the window), each printed exactly, so that a
	// supervisor sees why it was raised and not only that it was.
	Evidence map[string]string `json:"evidence,omitempty"`
	Resolved *Resolution       `json:"resolved,omitempty"`
}

// Resolution records who closed an exception, how and why.
type Resolution struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // "dismissed" ("voided" before), "acknowledged", "reposted"
	Reason string    `json:"reason"`
	Seq    uint64    `json:"seq,omitempty"` // the corrective transaction, if any
}

var keyOpenExceptions = []byte("open_exceptions")

func putException(btx *bolt.Tx, w writer, e Exception) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := w.put(bucketExceptions, u64(e.ID), raw); err != nil {
		return err
	}
	return w.put(bucketMeta, keyOpenExceptions, u64(getU64(btx.Bucket(bucketMeta).Get(keyOpenExceptions))+1))
}

func countOpenExceptions(btx *bolt.Tx) int {
	return int(getU64(btx.Bucket(bucketMeta).Get(keyOpenExceptions)))
}

// countOpenRejections walks the rejected index (rejections are rare: the index is small)
// and counts those whose exception is still open. No counter is kept for it, so that no
// layout migration is needed and a counter cannot drift from the records.
func countOpenRejections(btx *bolt.Tx) int {
	exc := btx.Bucket(bucketExceptions)
	n := 0
	_ = btx.Bucket(bucketRejected).ForEach(func(_, id []byte) error {
		var e struct {
			Resolved json.RawMessage `json:"resolved"`
		}
		if raw := exc.Get(id); raw != nil && json.Unmarshal(raw, &e) == nil && len(e.Resolved) == 0 {
			n++
		}
		return nil
	})
	return n
}

// RaiseException journals a new exception (for kinds raised outside a commit: unresolved
// scans, disk space). It returns the stored record.
func (j *Journal) RaiseException(e Exception) (Exception, error) {
	return j.raiseException(j.update, e)
}

func (j *Journal) raiseException(write func(func(*bolt.Tx) error) error, e Exception) (Exception, error) {
	e.At = j.now()
	e.Resolved = nil
	err := write(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		e.ID = getU64(m.Get(keyExcSeq)) + 1
		if err := m.Put(keyExcSeq, u64(e.ID)); err != nil {
			return err
		}
		return putException(btx, direct{btx}, e)
	})
	if err != nil {
		return Exception{}, fmt.Errorf("raise %s exception: %w", e.Kind, err)
	}
	return e, nil
}

// ResolveException closes an open exception with a journalled resolution.
func (j *Journal) ResolveException(id uint64, r Resolution) (Exception, error) {
	var e Exception
	r.At = j.now()
	err := j.update(func(btx *bolt.Tx) error {
		b := btx.Bucket(bucketExceptions)
		raw := b.Get(u64(id))
		if raw == nil {
			return ErrNotFound
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		if e.Resolved != nil {
			return fmt.Errorf("exception %d was already resolved by %s", id, e.Resolved.By)
		}
		e.Resolved = &r
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := b.Put(u64(id), raw); err != nil {
			return err
		}
		m := btx.Bucket(bucketMeta)
		if n := getU64(m.Get(keyOpenExceptions)); n > 0 {
			return m.Put(keyOpenExceptions, u64(n-1))
		}
		return nil
	})
	return e, err
}

// Exceptions lists exceptions, newest first, optionally only open ones.
func (j *Journal) Exceptions(openOnly bool, limit int) ([]Exception, error) {
	var out []Exception
	err := j.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketExceptions).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e Exception
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("exception %d: %w", getU64(k), err)
			}
			if openOnly && e.Resolved != nil {
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
