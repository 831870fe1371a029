package edge

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge/engine"

	bolt "go.etcd.io/bbolt"
)

// Schema migrations. Open reads the layout version from meta "schema": a newer one is
// refused (ErrSchemaTooNew) before anything is written; an older one is first copied to
// <db>.schema-v<N>.bak (a consistent snapshot, fsynced) and then migrated forward by every
// step below in one bbolt transaction, so a power cut leaves either the old layout or the
// new one, never a mix. A fresh file has no meta bucket and gets the current layout in init.
//
// Open replays the write-ahead log before it migrates. The WAL's records were written by
// the depotd that wrote the old layout, as writes to the old layout's buckets and keys:
// applied after a step they could resurrect what the step removed or renamed, and the step
// (and the .bak copy) would not see acknowledged transactions only the WAL held. Replayed
// first, the old layout is complete when it is copied and migrated; the migration commit
// leaves wal_lsn as the replay set it, so nothing is replayed twice.
//
// Every layout change adds a step here and commits a database of the layout it replaces
// under testdata/schema/ (go run ./edge/testdata/schema/gen, before the change), so that
// TestMigrateFromCommittedSchemas proves the step on a real file.

type migration struct {
	from int // the step migrates from this version to from+1
	what string
	fn   func(btx *bolt.Tx) error
}

var migrations = []migration{
	{from: 1, what: "record pruned_seq and create the seqgaps bucket (retention and restore)", fn: migrate1to2},
	{from: 2, what: "turn the seqs recorded in seqgaps into void transactions", fn: migrate2to3},
	{from: 3, what: "create the buckets of replenishment proposals", fn: migrate3to4},
	{from: 4, what: "create the ack times bucket, marking the acks before it as of unknown time", fn: migrate4to5},
}

// schemaTarget is the layout Open migrates to and creates: SchemaVersion, except while a
// test has added a step of its own (export_test.go) to prove what a future step will see.
var schemaTarget = SchemaVersion

func migrate1to2(btx *bolt.Tx) error {
	if _, err := btx.CreateBucketIfNotExists(bucketSeqGaps); err != nil {
		return err
	}
	m := btx.Bucket(bucketMeta)
	// Version 1 never pruned, but derive the value from what is stored rather than assume.
	pruned := getU64(m.Get(keyLastSeq))
	if k, _ := btx.Bucket(bucketTx).Cursor().First(); k != nil {
		pruned = getU64(k) - 1
	}
	return m.Put(keyPrunedSeq, u64(pruned))
}

// migrate2to3 stores a void (void.go) at every seq a restore recorded in seqgaps, then
// drops the bucket: seqs are gap-free from then on, and the uplink forwards the voids
// instead of stopping at the first gap. Every recorded seq is voided, however many: a
// migration cannot refuse the way a restore does (real gaps are as small as a day's
// transactions). A seq pruned since (≤ pruned_seq) or somehow held by a transaction is
// left as it is.
func migrate2to3(btx *bolt.Tx) error {
	gaps := btx.Bucket(bucketSeqGaps)
	if gaps == nil {
		return nil
	}
	pruned := getU64(btx.Bucket(bucketMeta).Get(keyPrunedSeq))
	at := time.Now()
	note := "seq skipped by a restore before layout 3 (see its restore exception) so that no seq is reused; it applies nothing"
	err := gaps.ForEach(func(k, v []byte) error {
		from, to := max(getU64(k), pruned+1), getU64(v)
		if from > to {
			return nil
		}
		return putVoids(btx, from, to, at, "restore", note)
	})
	if err != nil {
		return err
	}
	return btx.DeleteBucket(bucketSeqGaps)
}

// migrate3to4 creates the proposal buckets (empty: no older depotd proposed anything).
func migrate3to4(btx *bolt.Tx) error {
	for _, b := range [][]byte{bucketProposals, bucketProposalActive} {
		if _, err := btx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// migrate4to5 creates the ack times bucket (ack.go). Acks before it left no time: a record
// at the current watermark with time 0 says so, so that the seqs at or below it are never
// attributed to the first ack after the upgrade (which would make their latency look
// as long as the upgrade was late).
func migrate4to5(btx *bolt.Tx) error {
	b, err := btx.CreateBucketIfNotExists(bucketAckTimes)
	if err != nil {
		return err
	}
	if acked := getU64(btx.Bucket(bucketMeta).Get(keyAckedSeq)); acked > 0 {
		return b.Put(u64(acked), u64(0))
	}
	return nil
}

// schemaOf returns the layout version of an open database (0: a fresh file).
func schemaOf(db *bolt.DB) (int, error) {
	v := 0
	err := db.View(func(btx *bolt.Tx) error {
		m := btx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		if raw := m.Get(keySchema); raw != nil {
			v = int(getU64(raw))
		}
		return nil
	})
	return v, err
}

func schemaTooNew(path string, v int) error {
	return fmt.Errorf("%w: %s has layout %d, this depotd understands up to %d; install the newer depotd again, or restore a backup made by this version",
		ErrSchemaTooNew, path, v, schemaTarget)
}

func migrate(db *bolt.DB, path string, log *slog.Logger) error {
	v, err := schemaOf(db)
	if err != nil {
		return err
	}
	if v > schemaTarget {
		return schemaTooNew(path, v)
	}
	if v == 0 || v == schemaTarget {
		return nil
	}
	bak := fmt.Sprintf("%s.schema-v%d.bak", path, v)
	if err := copyDB(db, bak); err != nil {
		return fmt.Errorf("back up before migrating layout %d: %w", v, err)
	}
	log.Info("migrating database layout", "from", v, "to", schemaTarget, "backup", bak)
	err = db.Update(func(btx *bolt.Tx) error {
		for _, m := range migrations {
			if m.from < v {
				continue
			}
			if err := m.fn(btx); err != nil {
				return fmt.Errorf("migrate layout %d→%d (%s): %w", m.from, m.from+1, m.what, err)
			}
		}
		return btx.Bucket(bucketMeta).Put(keySchema, u64(uint64(schemaTarget)))
	})
	if err != nil {
		return err
	}
	log.Info("database layout migrated", "to", schemaTarget)
	return nil
}

// copyDB writes a consistent copy of db to dst through a temporary file, fsynced and
// renamed into place, so dst is either absent or complete.
func copyDB(db *bolt.DB, dst string) error {
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	err = db.View(func(btx *bolt.Tx) error {
		_, err := btx.WriteTo(f)
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return engine.SyncDir(filepath.Dir(dst))
}
