package edge

import (
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// ReleaseMemory drops the journal's memory-mapped pages from the process's resident set.
// bbolt reads through a shared read-only mapping of the file, so a long scan (draining a
// large backlog) leaves every page it touched counted in RSS although the kernel could
// reclaim them at any time; on a gateway with little memory that looks like a leak and
// pressures the OOM killer. The pages stay in the page cache: the next read faults them
// back in cheaply. It holds a read transaction, which keeps bbolt from remapping meanwhile.
func (j *Journal) ReleaseMemory() error {
	return j.db.View(func(tx *bolt.Tx) error {
		info := j.db.Info()
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, info.Data, uintptr(tx.Size()), unix.MADV_DONTNEED); e != 0 {
			return e
		}
		return nil
	})
}
