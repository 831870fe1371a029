package edge

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Every bbolt key encoding lives in this file.
//
// Buckets:
//
//	meta        fixed keys below → big-endian uint64 or bytes
//	tx          seq (8-byte big-endian) → transaction JSON, a void (void.go) at every seq a
//	            restore skipped
//	txid        client id → seq (8-byte big-endian)
//	stock       stockKey → stockRec JSON (local ledger: ERP quantity and local quantity)
//	snapshot    stockKey → Qty text (the last ERP stock snapshot, kept for replay checks)
//	exceptions  id (8-byte big-endian) → Exception JSON
//	master      kind ("items", "locations", "operators") → payload JSON
//	rejected    seq (8-byte big-endian) → exception id (seqs the ERP rejected)
//	stations    station name → station state JSON (open document, operator; see edge/station)
//	proposals   id (8-byte big-endian) → Proposal JSON (layout 4; proposals.go)
//	proposal_active  item NUL location → id of its active proposal (layout 4)
//	ack_times   upto_seq (8-byte big-endian) → when the depot recorded the ack that moved the
//	            watermark to it (8-byte big-endian Unix nanoseconds; 0: before layout 5, time
//	            unknown) (layout 5; ack.go)
//	seqgaps     layout 2 only, turned into voids by the migration to 3: first missing seq →
//	            last missing seq (8-byte big-endian each), seqs a restore skipped
var (
	bucketMeta       = []byte("meta")
	bucketTx         = []byte("tx")
	bucketTxID       = []byte("txid")
	bucketStock      = []byte("stock")
	bucketSnapshot   = []byte("snapshot")
	bucketExceptions = []byte("exceptions")
	bucketMaster     = []byte("master")
	bucketRejected   = []byte("rejected")
	bucketStations   = []byte("stations")
	bucketSeqGaps    = []byte("seqgaps")

	bucketProposals      = []byte("proposals")
	bucketProposalActive = []byte("proposal_active")

	bucketAckTimes = []byte("ack_times")

	allBuckets = [][]byte{bucketMeta, bucketTx, bucketTxID, bucketStock, bucketSnapshot, bucketExceptions, bucketMaster, bucketRejected, bucketStations, bucketProposals, bucketProposalActive, bucketAckTimes}

	keySchema      = []byte("schema")
	keyDepot       = []byte("depot")
	keyLastSeq     = []byte("last_seq")
	keyAckedSeq    = []byte("acked_seq")
	keySession     = []byte("session")
	keyAppliedSeq  = []byte("applied_seq")
	keyExcSeq      = []byte("exception_seq")
	keySnapshotAt  = []byte("snapshot_at")  // RFC 3339 time of the ERP's last stock snapshot
	keyPrunedSeq   = []byte("pruned_seq")   // every seq ≤ this was pruned by retention
	keyWALID       = []byte("wal_id")       // random, set at creation: the WAL records of this database
	keyWALLSN      = []byte("wal_lsn")      // the last WAL record whose writes bbolt holds (wal.go)
	keyProposalSeq = []byte("proposal_seq") // the last proposal id
)

// SchemaVersion is the layout this depotd writes. Older layouts are migrated forward at
// open; a newer one is refused (ErrSchemaTooNew). History (migrations in migrate.go):
//
//	1  the core layout
//	2  retention and restore: meta pruned_seq, bucket seqgaps; the journal may start above
//	   seq 1 and skip restore gaps, which a version-1 Check would call corruption
//	3  voids: a seq a restore skips holds a transaction of type void (no id, no lines);
//	   bucket seqgaps is gone, and seqs above pruned_seq are gap-free again
//	4  replenishment proposals: buckets proposals and proposal_active, meta proposal_seq
//	5  ack times: bucket ack_times, one record per ack that moved the watermark (sync health:
//	   latency from commit to the ERP's ack); the migration records the watermark it finds
//	   with time 0, so that the seqs acknowledged before it are known to have no ack time
const SchemaVersion = 5

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// stockKey identifies one ledger row. The parts are joined with NUL, which validation
// refuses inside any of them, so the encoding is unambiguous and sorts by item first.
type stockKey struct {
	Item, Location, Lot string
	State               StockState
}

func (k stockKey) bytes() []byte {
	b := make([]byte, 0, len(k.Item)+len(k.Location)+len(k.Lot)+len(k.State)+3)
	b = append(b, k.Item...)
	b = append(b, 0)
	b = append(b, k.Location...)
	b = append(b, 0)
	b = append(b, k.Lot...)
	b = append(b, 0)
	b = append(b, k.State...)
	return b
}

func parseStockKey(b []byte) (stockKey, error) {
	p := bytes.Split(b, []byte{0})
	if len(p) != 4 {
		return stockKey{}, fmt.Errorf("bad stock key %q", b)
	}
	return stockKey{Item: string(p[0]), Location: string(p[1]), Lot: string(p[2]), State: StockState(p[3])}, nil
}

// stockRec is one ledger row: ERP is the quantity in the last ERP snapshot, Qty the local
// quantity (ERP plus every local transaction after the snapshot's applied seq).
type stockRec struct {
	ERP Qty `json:"erp"`
	Qty Qty `json:"qty"`
}
