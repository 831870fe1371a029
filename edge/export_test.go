package edge

// SetCommitFault installs a fault every commit runs before writing (nil removes it). It
// simulates ENOSPC where mounting a small filesystem is not permitted.
func SetCommitFault(f func() error) {
	if f == nil {
		commitFault.Store(nil)
		return
	}
	commitFault.Store(&f)
}
