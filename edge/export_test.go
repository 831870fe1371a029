package edge

import (
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// SetCommitFault installs a fault every commit runs before writing (nil removes it). It
// simulates ENOSPC where mounting a small filesystem is not permitted.
func SetCommitFault(f func() error) { commitFault.set(f) }

// SetWALFault installs a fault every WAL write runs after writing its record and before
// syncing it (nil removes it).
func SetWALFault(f func() error) { walFault.set(f) }

// SetCheckpointFault installs a fault every checkpoint runs before bbolt commits (nil
// removes it).
func SetCheckpointFault(f func() error) { checkpointFault.set(f) }

// SetOpenSyncs installs a function told every file and directory Open syncs for the WAL
// (nil removes it).
func SetOpenSyncs(f func(path string)) { openSyncs.set(f) }

// AddTestMigration adds, until the test ends, a migration step from the current layout to
// one above it that runs fn: a stand-in for the next real step, to prove what a step sees.
// Not for parallel tests.
func AddTestMigration(t testing.TB, fn func(btx *bolt.Tx) error) {
	saved, target := migrations, schemaTarget
	migrations = append(slices.Clone(migrations), migration{from: schemaTarget, what: "test step", fn: fn})
	schemaTarget++
	t.Cleanup(func() { migrations, schemaTarget = saved, target })
}

// StockReplayed is Stock with the unacknowledged figures replayed from the whole backlog,
// leaving the figures kept between views as they were.
func (j *Journal) StockReplayed(f StockFilter) ([]StockRow, error) {
	j.unacked.mu.Lock()
	valid, acked, upto, rows := j.unacked.valid, j.unacked.acked, j.unacked.upto, j.unacked.rows
	j.unacked.valid = false
	j.unacked.mu.Unlock()
	defer func() {
		j.unacked.mu.Lock()
		j.unacked.valid, j.unacked.acked, j.unacked.upto, j.unacked.rows = valid, acked, upto, rows
		j.unacked.mu.Unlock()
	}()
	return j.Stock(f)
}

// DropUnackedCache makes the next stock read replay the whole backlog, as every read did
// before the figures were kept between views (the benchmarks' baseline).
func (j *Journal) DropUnackedCache() {
	j.unacked.mu.Lock()
	j.unacked.valid = false
	j.unacked.mu.Unlock()
}
