package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SyncState says where a journalled transaction stands with the ERP.
type SyncState string

const (
	SyncPending  SyncState = "pending"  // above the ack watermark: not yet confirmed by the ERP
	SyncAcked    SyncState = "acked"    // at or below the watermark and applied by the ERP
	SyncRejected SyncState = "rejected" // at or below the watermark, refused by the ERP
)

// JournalQuery selects journal entries for a browsing view, newest first. Empty fields match
// everything. Item, Station, Operator and Type must match exactly.
type JournalQuery struct {
	Type     TxType
	Station  string
	Operator string
	Item     string
	// From and To bound the commit time (From inclusive, To exclusive; zero = open).
	From, To time.Time
	Sync     SyncState
	// Before is the paging cursor: only seqs below it are considered (0 = from the newest).
	Before uint64
	// Limit is the page size (default 50).
	Limit int
	// MaxScan bounds how many entries one query looks at (default 5000), so that a filter
	// that matches rarely cannot make one page view read the whole journal.
	MaxScan int
}

// JournalEntry is one transaction with its ERP state.
type JournalEntry struct {
	Transaction
	Sync SyncState `json:"sync"`
}

// JournalPage is one page of a query.
type JournalPage struct {
	Entries []JournalEntry
	// Next is the cursor for the following (older) page; 0 when nothing older can match.
	Next uint64
	// Scanned is how many entries were looked at; when the scan budget ran out before the
	// page filled, Next is set and Entries may be short (even empty).
	Scanned  int
	Budgeted bool
}

// Query pages through the journal newest first. It never holds one read transaction for
// long: entries are read in chunks of scanChunk, pre-filtered on their raw JSON, and only
// candidates are decoded. The date range and the sync state narrow the seq range first
// (seqs are assigned in commit order, so commit times grow with seq; a clock stepped back
// can make the date bounds approximate by the size of the step).
func (j *Journal) Query(q JournalQuery) (JournalPage, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if q.MaxScan <= 0 {
		q.MaxScan = 5000
	}
	var page JournalPage
	last, acked := j.Positions()
	lo, hi := uint64(1), last // inclusive seq range that can match
	if q.Before != 0 && q.Before-1 < hi {
		hi = q.Before - 1
	}
	switch q.Sync {
	case SyncPending:
		lo = max(lo, acked+1)
	case SyncAcked, SyncRejected:
		hi = min(hi, acked)
	case "":
	default:
		return page, fieldErr("sync", "unknown sync state %q (pending, acked, rejected)", q.Sync)
	}
	if !q.From.IsZero() {
		s, err := j.firstSeqAtOrAfter(q.From, last)
		if err != nil {
			return page, err
		}
		lo = max(lo, s)
	}
	if !q.To.IsZero() {
		s, err := j.firstSeqAtOrAfter(q.To, last)
		if err != nil {
			return page, err
		}
		if s == 0 {
			return page, nil
		}
		hi = min(hi, s-1)
	}
	if hi < lo || hi == 0 {
		return page, nil
	}
	if q.Sync == SyncRejected {
		return j.queryRejected(q, lo, hi)
	}
	needles := queryNeedles(q)
	rejected, err := j.rejectedSet(lo, hi)
	if err != nil {
		return page, err
	}
	cur := hi
	for cur >= lo && len(page.Entries) < q.Limit {
		if page.Scanned >= q.MaxScan {
			page.Budgeted = true
			break
		}
		var cands [][]byte
		var lastSeen uint64
		err := j.view(func(btx *bolt.Tx) error {
			c := btx.Bucket(bucketTx).Cursor()
			k, v := c.Seek(u64(cur))
			if k == nil || getU64(k) > cur {
				k, v = c.Prev()
			}
			n := 0
			for ; k != nil && n < scanChunk && page.Scanned < q.MaxScan; k, v = c.Prev() {
				seq := getU64(k)
				if seq < lo {
					break
				}
				n++
				page.Scanned++
				lastSeen = seq
				if matchesRaw(v, needles) {
					cands = append(cands, bytes.Clone(v))
				}
			}
			if n == 0 {
				lastSeen = lo
			}
			return nil
		})
		if err != nil {
			return page, err
		}
		for _, raw := range cands {
			t, err := decodeTx(raw)
			if err != nil {
				return page, err
			}
			st := syncOf(t.Seq, acked, rejected)
			if !q.matches(&t) || (q.Sync != "" && st != q.Sync) {
				continue
			}
			page.Entries = append(page.Entries, JournalEntry{Transaction: t, Sync: st})
			if len(page.Entries) == q.Limit {
				// More may match below this one.
				if t.Seq > lo {
					page.Next = t.Seq
				}
				return page, nil
			}
		}
		if lastSeen <= lo {
			return page, nil
		}
		cur = lastSeen - 1
	}
	if cur >= lo && cur > 0 {
		page.Next = cur + 1
	}
	return page, nil
}

func syncOf(seq, acked uint64, rejected map[uint64]bool) SyncState {
	switch {
	case seq > acked:
		return SyncPending
	case rejected[seq]:
		return SyncRejected
	}
	return SyncAcked
}

// queryNeedles are byte strings every matching entry's JSON must contain: a cheap test
// that spares decoding most non-matching entries. The exact test follows decoding.
func queryNeedles(q JournalQuery) [][]byte {
	var out [][]byte
	add := func(key, v string) {
		if v == "" {
			return
		}
		enc, _ := json.Marshal(v)
		out = append(out, append([]byte(`"`+key+`":`), enc...))
	}
	add("type", string(q.Type))
	add("station", q.Station)
	add("operator", q.Operator)
	add("item", q.Item)
	return out
}

func matchesRaw(raw []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(raw, n) {
			return false
		}
	}
	return true
}

func (q JournalQuery) matches(t *Transaction) bool {
	if (q.Type != "" && t.Type != q.Type) || (q.Station != "" && t.Station != q.Station) ||
		(q.Operator != "" && t.Operator != q.Operator) {
		return false
	}
	if q.Item != "" {
		found := false
		for _, l := range t.Lines {
			if l.Item == q.Item {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// FirstSeqAt returns the smallest seq committed at or after at (last seq + 1 when none),
// in O(log n) point reads. Seqs are committed in time order: a clock stepped back makes
// the answer approximate by the size of the step.
func (j *Journal) FirstSeqAt(at time.Time) (uint64, error) {
	last, _ := j.Positions()
	return j.firstSeqAtOrAfter(at, last)
}

// firstSeqAtOrAfter returns the smallest seq committed at or after at (last+1 when none),
// by binary search over the seqs still stored (retention may have pruned the oldest):
// O(log n) point reads.
func (j *Journal) firstSeqAtOrAfter(at time.Time, last uint64) (uint64, error) {
	var first uint64
	if err := j.view(func(btx *bolt.Tx) error {
		if k, _ := btx.Bucket(bucketTx).Cursor().First(); k != nil {
			first = getU64(k)
		}
		return nil
	}); err != nil {
		return 0, err
	}
	if first == 0 || first > last {
		return last + 1, nil
	}
	var err error
	n := sort.Search(int(last-first+1), func(i int) bool {
		if err != nil {
			return true
		}
		var t time.Time
		t, err = j.commitTime(first + uint64(i))
		return !t.Before(at)
	})
	return first + uint64(n), err
}

func (j *Journal) commitTime(seq uint64) (time.Time, error) {
	var at time.Time
	err := j.view(func(btx *bolt.Tx) error {
		raw := btx.Bucket(bucketTx).Get(u64(seq))
		if raw == nil {
			return fmt.Errorf("seq %d: %w", seq, ErrNotFound)
		}
		var head struct {
			At *time.Time `json:"at"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return fmt.Errorf("seq %d: %w", seq, err)
		}
		if head.At != nil {
			at = *head.At
		}
		return nil
	})
	return at, err
}

// rejectedSet returns the seqs in [lo, hi] the ERP rejected. Rejections are rare, so the
// set is small.
func (j *Journal) rejectedSet(lo, hi uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	err := j.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketRejected).Cursor()
		for k, _ := c.Seek(u64(lo)); k != nil && getU64(k) <= hi; k, _ = c.Next() {
			out[getU64(k)] = true
		}
		return nil
	})
	return out, err
}

// queryRejected walks the rejected index instead of the journal.
func (j *Journal) queryRejected(q JournalQuery, lo, hi uint64) (JournalPage, error) {
	var page JournalPage
	var seqs []uint64
	err := j.view(func(btx *bolt.Tx) error {
		c := btx.Bucket(bucketRejected).Cursor()
		k, _ := c.Seek(u64(hi))
		if k == nil || getU64(k) > hi {
			k, _ = c.Prev()
		}
		for ; k != nil && getU64(k) >= lo && len(seqs) < q.MaxScan; k, _ = c.Prev() {
			seqs = append(seqs, getU64(k))
		}
		return nil
	})
	if err != nil {
		return page, err
	}
	for _, s := range seqs {
		page.Scanned++
		t, err := j.Get(s)
		if errors.Is(err, ErrNotFound) {
			continue // pruned by retention
		}
		if err != nil {
			return page, err
		}
		if !q.matches(&t) {
			continue
		}
		page.Entries = append(page.Entries, JournalEntry{Transaction: t, Sync: SyncRejected})
		if len(page.Entries) == q.Limit {
			if s > lo {
				page.Next = s
			}
			break
		}
	}
	return page, nil
}

// Rejection returns the exception recording the ERP's rejection of seq, if it was rejected.
func (j *Journal) Rejection(seq uint64) (Exception, bool, error) {
	var e Exception
	found := false
	err := j.view(func(btx *bolt.Tx) error {
		id := btx.Bucket(bucketRejected).Get(u64(seq))
		if id == nil {
			return nil
		}
		raw := btx.Bucket(bucketExceptions).Get(id)
		if raw == nil {
			return fmt.Errorf("rejection of seq %d points at missing exception %d", seq, getU64(id))
		}
		found = true
		return json.Unmarshal(raw, &e)
	})
	return e, found, err
}

// Exception returns one exception by id.
func (j *Journal) Exception(id uint64) (Exception, error) {
	var e Exception
	err := j.view(func(btx *bolt.Tx) error {
		raw := btx.Bucket(bucketExceptions).Get(u64(id))
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &e)
	})
	return e, err
}
