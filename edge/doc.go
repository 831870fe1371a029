// Package edge is the heart of depotd: the domain types (Transaction, Line, Qty, Location,
// StockState), validation, and the Journal, a bbolt file holding the transaction journal, the
// outbox, the stock ledger, exceptions and master data.
//
// # Contract
//
// Journal.Commit validates a transaction, assigns the next sequence number (1-based, gap-free,
// never reused) and returns only after the transaction is durable. Posting the same client id
// again returns the original transaction and writes nothing. The transaction, its id index
// entry, its effect on the stock ledger and any exception it raises are written in the same
// bbolt transaction, so the journal and the ledger can never disagree.
//
// The outbox is the seq range (acked_seq, last_seq]: the ERP's ack watermark is the index.
// A transaction leaves the outbox only when Ack moves the watermark past it, which happens
// only on the ERP's application-level acknowledgement, never on an MQTT PUBACK.
//
// The ledger holds, per (item, location, lot, state), the quantity of the last ERP snapshot
// (which carries the highest depot seq the ERP had applied) plus every local transaction
// after that seq. Journal.Check proves it by replay.
//
// # Durability: which fsyncs happen, in which order
//
// A commit is one bbolt read-write transaction (never NoSync). bbolt writes every dirty
// page (the new transaction records, index and ledger pages; copy-on-write, so no page
// the previous meta reaches is overwritten) with pwrite and then calls fdatasync on the
// file; only after that returns does it write the new meta page
// (which points at the new root and carries a checksum and the transaction id) and calls
// fdatasync again. When the file must grow, bbolt extends it and fsyncs before writing
// (NoGrowSync is false). On first creation of the database file Open fsyncs the directory,
// because bbolt does not, and a power cut could otherwise lose the file's directory entry.
//
// Commit answers its callers only after bbolt's Update returned nil, that is after the
// second fdatasync. A power cut at any instant therefore leaves one of two states:
//   - before the meta fdatasync completed: the old meta page (there are two, written
//     alternately, each checksummed) is the newest valid one, so the database opens at the
//     previous commit; the interrupted transactions were never acknowledged to anyone;
//   - after it: the new meta page is valid and every page it reaches was already on stable
//     storage by the first fdatasync; the acknowledged transactions are there.
//
// The freelist is not written (NoFreelistSync): bbolt rebuilds it at open from the pages
// the valid meta reaches, so it cannot disagree with the tree after a power cut.
//
// A torn meta page fails its checksum and bbolt falls back to the other one. This relies on
// the disk honouring flushes (no volatile write cache without power-loss protection), as
// every database does.
//
// # Group commit
//
// A single committer goroutine owns all transaction commits. It takes the first waiting
// request, then every other request already waiting, up to Options.MaxBatch, and commits them
// in one bbolt transaction; requests that arrive during that fsync form the next batch. One
// writer pays two fdatasyncs per commit; N concurrent writers share them, with no timer (bbolt's
// own Batch waits up to 10 ms). A transaction that fails validation against the ledger
// (negative stock refused) is skipped without touching the others in its batch; an I/O error
// fails the whole batch and no seq is consumed.
//
// # Concurrency
//
// All methods are safe for concurrent use. Reads use short bbolt read transactions (Scan reads
// in chunks) so that a large backlog never pins memory or pages.
//
// # Retention (retention.go)
//
// Prune deletes a transaction (and its id index entry) only when it is acknowledged by the
// ERP (seq ≤ acked_seq), included in the ERP's last stock snapshot (seq ≤ applied_seq) and
// older than journal.retention. The snapshot bound is what keeps the ledger provable: the
// ledger is "snapshot + every transaction after applied_seq", Check replays exactly those,
// and the next ApplyStockSnapshot (whose applied_seq can only be higher) needs nothing
// below it. A ledger checkpoint would let pruning run ahead of snapshots, at the price of
// a second copy of the ledger to keep right; an ERP that never sends snapshots therefore
// never lets anything be pruned, and the disk quota below says so loudly. The highest
// pruned seq is meta pruned_seq; Check demands gap-free seqs above it. Each pruning batch
// (journal.prune_batch) is handed to the committer like a transaction and rides in the same
// bbolt commit as the postings waiting then: pruning adds no fsync that a posting waits
// for, and batches are paced so that pruning takes at most half the writer's time.
//
// # Disk quota (quota.go)
//
// The live size (bbolt's high-water mark minus free pages) is measured after every commit
// and prune. At 80 % of journal.max_db_size one disk_space exception is raised (re-armed
// below 75 %); at 95 % Commit refuses new transactions with ErrDiskFull before they reach
// the committer (a retry of a committed id still gets its original answer). Acks, sessions,
// snapshots, exceptions and pruning are never refused, so depotd recovers by itself. A
// commit that fails with ENOSPC (or EDQUOT) is ErrDiskFull too: bbolt rolls the
// transaction back, no seq is consumed and the file stays consistent; posting resumes when
// space returns.
//
// # Schema versions (migrate.go)
//
// meta "schema" is the layout version (SchemaVersion). Open migrates an older layout
// forward in one bbolt transaction after copying the file to <db>.schema-v<N>.bak, and
// refuses a newer one with ErrSchemaTooNew without writing. testdata/schema holds a
// database of every layout, each migrated by TestMigrateFromCommittedSchemas.
//
// # Backup and restore (backup.go)
//
// A backup is one read transaction's WriteTo: consistent, taken while depotd runs, with its
// SHA-256 beside it. Restore verifies it fully before writing, refuses while another process
// holds the database, and never lets a seq be reused: it skips (records in seqgaps) every
// seq above the backup that the replaced database or the ERP may have seen, and raises a
// restore exception naming them.
//
// # Caveats
//
// The database file never shrinks on its own (see depotd db compact). Only one process may
// open it: a second one fails with ErrLocked after Options.LockTimeout. A backup's read
// transaction lasts as long as its download; a commit that must grow the file meanwhile
// waits for it (bbolt cannot remap under a reader).
package edge
