package edge

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
