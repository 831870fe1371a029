package edge

import (
	"context"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Ack is the ERP's acknowledgement: every seq ≤ UptoSeq is processed, applied or rejected
// as listed.
type Ack struct {
	UptoSeq  uint64      `json:"upto_seq"`
	Rejected []Rejection `json:"rejected,omitempty"`
}

// Rejection is one transaction the ERP refused.
type Rejection struct {
	Seq     uint64 `json:"seq"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// AckResult says what an ack changed.
type AckResult struct {
	Moved bool   // the watermark advanced
	Acked uint64 // the watermark after the ack
	// NewRejections counts rejections recorded now (repeats of known ones are not counted).
	NewRejections int
}

// Ack moves the ack watermark to a.UptoSeq (fsynced) and records each rejection as an
// exception, once per seq. An ack that moves the watermark also records when it came
// (AckMarks), in the same WAL record. An ack beyond the last committed seq is refused whole
// (ErrAckBeyondLast); a rejection above UptoSeq or of seq 0 makes it ErrInvalidAck. A late or
// duplicate ack (UptoSeq at or below the watermark) leaves the watermark alone.
func (j *Journal) Ack(a Ack) (AckResult, error) {
	for _, r := range a.Rejected {
		if r.Seq == 0 || r.Seq > a.UptoSeq {
			return AckResult{}, fmt.Errorf("%w: rejected seq %d is not within 1..upto_seq %d", ErrInvalidAck, r.Seq, a.UptoSeq)
		}
		if fe := checkText("rejected.code", r.Code, maxTextLen, false); fe != nil {
			return AckResult{}, fmt.Errorf("%w: %v", ErrInvalidAck, fe)
		}
		if len(r.Message) > maxNoteLen {
			return AckResult{}, fmt.Errorf("%w: rejection message longer than %d bytes", ErrInvalidAck, maxNoteLen)
		}
	}
	var res AckResult
	// The ack rides in the WAL record of the group commit it joins: the uplink acks every
	// few hundred transactions, and a bbolt commit of its own each time was most of a busy
	// day's checkpoints (BenchmarkWriteAmplificationDay: 366 for 50,000 transactions).
	err := j.submit(&commitReq{write: func(btx *bolt.Tx, w writer) error {
		m := btx.Bucket(bucketMeta)
		last, acked := getU64(m.Get(keyLastSeq)), getU64(m.Get(keyAckedSeq))
		if a.UptoSeq > last {
			return fmt.Errorf("%w: upto_seq %d, last committed seq %d", ErrAckBeyondLast, a.UptoSeq, last)
		}
		res.Acked = acked
		if a.UptoSeq > acked {
			if err := w.put(bucketMeta, keyAckedSeq, u64(a.UptoSeq)); err != nil {
				return err
			}
			if err := w.put(bucketAckTimes, u64(a.UptoSeq), u64(uint64(max(j.now().UnixNano(), 1)))); err != nil {
				return err
			}
			res.Moved, res.Acked = true, a.UptoSeq
		}
		if len(a.Rejected) == 0 {
			return nil
		}
		rb := btx.Bucket(bucketRejected)
		rej := append([]Rejection(nil), a.Rejected...)
		sort.Slice(rej, func(x, y int) bool { return rej[x].Seq < rej[y].Seq })
		excSeq := getU64(m.Get(keyExcSeq))
		for _, r := range rej {
			// Repeated acks repeat their rejections: one exception per seq.
			if rb.Get(u64(r.Seq)) != nil {
				continue
			}
			e := Exception{Kind: ExcERPRejected, Seq: r.Seq, Code: r.Code, At: j.now(),
				Message: fmt.Sprintf("ERP rejected seq %d: %s %s", r.Seq, r.Code, r.Message)}
			if raw := btx.Bucket(bucketTx).Get(u64(r.Seq)); raw != nil {
				if t, err := decodeTx(raw); err == nil && len(t.Lines) > 0 {
					e.Item, e.Location = t.Lines[0].Item, firstNonEmpty(t.Lines[0].To, t.Lines[0].From)
				}
			}
			excSeq++
			e.ID = excSeq
			if err := putException(btx, w, e); err != nil {
				return err
			}
			if err := w.put(bucketRejected, u64(r.Seq), u64(e.ID)); err != nil {
				return err
			}
			res.NewRejections++
		}
		return w.put(bucketMeta, keyExcSeq, u64(excSeq))
	}}).err
	if err != nil {
		return AckResult{}, err
	}
	if res.Moved {
		j.acked.Store(res.Acked)
	}
	return res, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// AckMark is one ack that moved the watermark: every seq above the previous mark and at or
// below UptoSeq was acknowledged at At. A zero At is the mark layout 5's migration left at
// the watermark it found: those seqs were acknowledged at a time nobody recorded.
type AckMark struct {
	UptoSeq uint64
	At      time.Time
}

// AckMarks calls fn for each ack mark with UptoSeq ≥ from, in seq order; the first one
// covers seq from. It reads in chunks, and sees every prune before the call (retention
// deletes the marks that cover only pruned seqs).
func (j *Journal) AckMarks(ctx context.Context, from uint64, fn func(AckMark) error) error {
	buf := make([]AckMark, 0, scanChunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf = buf[:0]
		err := j.view(func(btx *bolt.Tx) error {
			c := btx.Bucket(bucketAckTimes).Cursor()
			for k, v := c.Seek(u64(from)); k != nil && len(buf) < scanChunk; k, v = c.Next() {
				m := AckMark{UptoSeq: getU64(k)}
				if ns := int64(getU64(v)); ns != 0 {
					m.At = time.Unix(0, ns)
				}
				buf = append(buf, m)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		for _, m := range buf {
			if err := fn(m); err != nil {
				return err
			}
		}
		from = buf[len(buf)-1].UptoSeq + 1
	}
}
