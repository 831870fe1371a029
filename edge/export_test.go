package edge

// SetCommitFault installs a fault every commit runs before writing (nil removes it). It
// simulates ENOSPC where mounting a small filesystem is not permitted.
func SetCommitFault(f func() error) { commitFault.set(f) }

// SetWALFault installs a fault every WAL write runs after writing its record and before
// syncing it (nil removes it).
func SetWALFault(f func() error) { walFault.set(f) }
