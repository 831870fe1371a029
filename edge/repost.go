package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxDroppedLine bounds one line of a dropped-transactions export: a transaction of
// maxLines lines and maxScans raw scans, with room to spare.
const maxDroppedLine = 16 << 20

// ReadDropped parses a forced restore's export of the transactions it dropped
// (<db>.dropped-<time>.jsonl, see Restore): one JSON transaction a line, as the journal
// stored it. Blank lines are skipped. It is strict (unknown fields, trailing data and a
// line that is not one transaction are errors naming the line) and reads the whole file
// before answering, so that a damaged export posts nothing.
func ReadDropped(r io.Reader) ([]Transaction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxDroppedLine)
	var out []Transaction
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var tx Transaction
		if err := dec.Decode(&tx); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return nil, fmt.Errorf("line %d: trailing data after the transaction", n)
		}
		if tx.Type != Void && tx.ID == "" {
			return nil, fmt.Errorf("line %d: a %s without an id (not an export of dropped transactions?)", n, tx.Type)
		}
		out = append(out, tx)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line is longer than %d bytes: %w", maxDroppedLine, err)
		}
		return nil, err
	}
	return out, nil
}

// RepostID is the id a dropped transaction is posted again under: derived from its own
// id, so that posting the same export twice (or an export that overlaps another) posts
// each transaction once. An id too long to prefix is hashed.
func RepostID(dropped Transaction) string {
	const prefix = "repost-"
	if len(prefix)+len(dropped.ID) <= maxIDLen {
		return prefix + dropped.ID
	}
	sum := sha256.Sum256([]byte(dropped.ID))
	return prefix + hex.EncodeToString(sum[:16])
}

// repostOf is the new transaction that posts dropped again: the same movement, people,
// references and scans, computed fields left to the journal, and a note saying where it
// comes from.
func repostOf(dropped Transaction) Transaction {
	tx := Transaction{ID: RepostID(dropped), Type: dropped.Type, Ref: dropped.Ref, Reason: dropped.Reason,
		Station: dropped.Station, Operator: dropped.Operator, Source: dropped.Source, Scans: dropped.Scans}
	for _, l := range dropped.Lines {
		l.BaseQty, l.BaseUoM, l.Expected, l.Delta = nil, "", nil, nil
		tx.Lines = append(tx.Lines, l)
	}
	tx.Note = fmt.Sprintf("re-posted: seq %d (id %s) was dropped by a forced restore", dropped.Seq, dropped.ID)
	if dropped.At != nil {
		tx.Note += ", first committed " + dropped.At.UTC().Format("2006-01-02T15:04:05Z")
	}
	if dropped.Note != "" {
		tx.Note = clip(tx.Note+"; "+dropped.Note, maxNoteLen)
	}
	return tx
}

// clip shortens s to at most n bytes, on a character boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// RepostOutcome is what posting one dropped transaction again did.
type RepostOutcome struct {
	Dropped  Transaction // as exported
	Seq      uint64      // the new transaction's seq (0 when refused or skipped)
	Existing bool        // it had been re-posted before: nothing new was committed
	Skipped  string      // why it was not posted (a void moves nothing)
	Err      error       // why the journal refused it
}

// RepostDropped posts each dropped transaction again, in order, as a new transaction
// (RepostID), through Commit: checked against today's catalog, master data and stock
// like any post, with unknown items raising their exceptions. A refusal is reported in
// its outcome and the others still go; only a journal that cannot commit (ctx, closing)
// stops it, with the outcomes so far.
func (j *Journal) RepostDropped(ctx context.Context, dropped []Transaction) ([]RepostOutcome, error) {
	var out []RepostOutcome
	for _, d := range dropped {
		o := RepostOutcome{Dropped: d}
		if d.Type == Void {
			o.Skipped = "a void moves nothing"
			out = append(out, o)
			continue
		}
		tx := repostOf(d)
		view, _ := j.MasterView()
		stored, existing, err := j.CommitRaising(ctx, tx, view.UnknownExceptions(tx))
		var fe *FieldError
		var se *StockError
		var ice *IDConflictError
		switch {
		case err == nil:
			o.Seq, o.Existing = stored.Seq, existing
		case errors.As(err, &fe), errors.As(err, &se), errors.As(err, &ice):
			o.Err = err
		default:
			return out, fmt.Errorf("re-post seq %d (id %s): %w", d.Seq, d.ID, err)
		}
		out = append(out, o)
	}
	return out, nil
}
