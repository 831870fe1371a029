package edge

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Voids.
//
// A seq skipped by a restore is not a hole but a journal entry: a transaction of type
// "void" stored at that seq, with no lines, no id (nobody posted it; it has no id index
// entry), reason "restore_skipped", the restore it came from as its ref and a note saying
// why. It changes no stock. It is forwarded and acknowledged like any transaction, so the
// ERP's "apply in seq order" passes it (applying nothing) instead of waiting forever for a
// seq that will never come, and Check sees gap-free seqs. Voids are written only by a
// restore (recordRestore) and by the layout 2→3 migration (from seqgaps); the API refuses
// the type.
//
// One void per seq, because each seq is forwarded and acknowledged on its own: a void
// covering a range would need every ERP consumer to understand ranges. A restore voids at
// most MaxRestoreVoids seqs and refuses more (ErrTooManyVoids), before writing anything:
// a floor that far above the backup is more likely a mistyped number than a real backlog,
// and a real one is better served by a more recent backup. At about 250 bytes each, the
// cap costs at most some 25 MB, written in batches of voidBatch per bbolt commit.

// Void is the type of a journal entry holding a seq skipped by a restore.
const Void TxType = "void"

// ReasonRestoreSkipped is the reason of every void.
const ReasonRestoreSkipped = "restore_skipped"

// MaxRestoreVoids is the most seqs one restore may void.
const MaxRestoreVoids = 100_000

const voidBatch = 10_000

// voidTx is the void stored at seq.
func voidTx(seq uint64, at time.Time, restore, note string) Transaction {
	return Transaction{Seq: seq, At: &at, Type: Void, Ref: restore, Reason: ReasonRestoreSkipped,
		Source: "restore", Note: note, Lines: []Line{}}
}

// putVoids stores the voids of seqs from..to (inclusive) in btx, leaving any seq the
// journal already holds as it is.
func putVoids(btx *bolt.Tx, from, to uint64, at time.Time, restore, note string) error {
	b := btx.Bucket(bucketTx)
	b.FillPercent = 1 // append-only keys (fillAppendOnly)
	for seq := from; seq <= to && seq >= from; seq++ {
		if b.Get(u64(seq)) != nil {
			continue
		}
		raw, err := json.Marshal(voidTx(seq, at, restore, note))
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), raw); err != nil {
			return fmt.Errorf("void seq %d: %w", seq, err)
		}
	}
	return nil
}
