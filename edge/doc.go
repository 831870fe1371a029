// Package edge is the heart of depotd: the domain types (Transaction, Line, Qty, Location,
// StockState), validation, and the Journal, a bbolt file holding the transaction journal, the
// outbox, the stock ledger, exceptions and master data.
//
// # Contract
//
// Journal.Commit validates a transaction, assigns the next sequence number (1-based, gap-free,
// never reused) and returns only after the transaction is durable. The transaction, its id
// index entry, its effect on the stock ledger and any exception it raises are written
// together, in one WAL record and in the same bbolt transaction, so the journal and the
// ledger can never disagree.
//
// Posting the same transaction again (its client id and the same request: quantities
// compare as numbers; the relaying source and the scan evidence do not count) returns the
// original and writes nothing; the id with a different transaction is refused with
// *IDConflictError. No answer of any kind (created, existing, refused) is given before
// everything it was judged on is durable: a retry of an id whose first posting still waits
// for its fdatasync is answered with it, never before.
//
// A failed Commit says which of two things happened. Most failures are definite: nothing
// was committed and no seq was consumed. ErrOutcomeUnknown means the transaction's WAL
// record was written but its fdatasync failed and the checkpoint that should have replaced
// it failed too: the record may be intact and come back at the next start. Ids are
// idempotent, so the answer to both is the same: retry with the same id.
//
// Commit also holds each line of an item the master data knows to that item's tracking
// (Item.Missing: lot, serial, expiry on receipts and returns), refusing with a *FieldError
// that names the item and what is missing. The master data is one view (MasterView): the
// config's (Options.Master) merged with the ERP's downlinked snapshots, the ERP's entry
// replacing the config's for the same SKU or badge. Items it does not know pass: the
// depot must not stop on missing master data (callers raise unknown_item exceptions).
//
// The outbox is the seq range (acked_seq, last_seq]: the ERP's ack watermark is the index.
// Every seq in it holds a transaction: a seq a restore skipped holds a void (see Backup).
// A transaction leaves the outbox only when Ack moves the watermark past it, which happens
// only on the ERP's application-level acknowledgement, never on an MQTT PUBACK. Each ack
// that moves the watermark is recorded with the time it came (AckMarks, layout 5), in the
// same bbolt transaction, so that the latency from commit to ack (package synchealth)
// derives from the database.
//
// The ledger holds, per (item, location, lot, state), the quantity of the last ERP snapshot
// (which carries the highest depot seq the ERP had applied) plus every local transaction
// after that seq. Journal.Check proves it by replay.
//
// # Durability
//
// Two files: the bbolt database <db> and its write-ahead log <db>.wal. A group of
// commits is durable, and only then answered, once its WAL record is fdatasynced (one
// fdatasync per group, shared by concurrent writers) or a checkpoint has committed it to
// bbolt; a power cut at any instant keeps every answered transaction, and the next Open
// replays the WAL. If a WAL write or its fdatasync fails, the group goes to bbolt by a
// checkpoint instead; if that fails too, its callers are told ErrOutcomeUnknown. A WAL
// damaged before its end (an intact record after an unreadable one: not a torn write)
// makes Open (so also Compact and depotd db check) refuse with a *WALCorruptError naming
// the file, the lsns and their offsets, rather than reuse seqs. Package engine holds the
// mechanism and the argument: the file format, the order of writes, syncs and answers,
// checkpoints, replay, and every failure path. The WAL has a fixed size (Options.WALSize,
// 4 MiB); a journal whose WAL cannot be allocated (a full disk at first start) commits to
// bbolt directly, with two fdatasyncs per group. Open fsyncs the directory when it creates
// the database file, which bbolt does not. The freelist is not written (NoFreelistSync):
// bbolt rebuilds it at open from the pages the valid meta reaches, so it cannot disagree
// with the tree after a power cut. This relies on the disk honouring flushes (no volatile
// write cache without power-loss protection), as every database does.
//
// # Group commit and checkpoints
//
// A single committer goroutine owns the engine's open bbolt transaction. It takes every
// request waiting, up to Options.MaxBatch, applies them as one group and hands it to the
// engine's syncer, which writes everything handed over as one record the moment its
// previous fdatasync returns. Applying and syncing overlap; there is no timer. One writer pays one fdatasync per
// commit; N concurrent writers share them. The open transaction is checkpointed after
// about 1 MiB of WAL payload (checkpointBytes): its nodes are split only at commit, and
// inserts into ever larger nodes slow down. A transaction that fails validation
// against the ledger (negative stock refused) is skipped without touching the others in
// its group; an I/O error fails the group, and no seq is consumed.
//
// Readers see bbolt, so every read that must see the latest commits (all of Journal's
// reads of transactions, stock, exceptions and positions) first asks for a checkpoint if
// the WAL holds records bbolt does not: a read after a commit returned always sees it. If
// that checkpoint fails (a full disk), the read sees the last checkpoint and the journal
// keeps answering. Master data is written by checkpoints only, so its reads never wait.
// Acks, station states and pruning batches ride in the WAL record of the group they join,
// like transactions (on flash a bbolt commit of their own would cost two fdatasyncs and
// its pages each time); other writes (snapshots, master data, exceptions) run in the
// committer's transaction and are made durable by a checkpoint before they return. A
// checkpoint also happens when nothing came for Options.CheckpointIdle once every group
// is durable, when the WAL is full, and at the latest Options.CheckpointEvery (1 s) after
// the first uncheckpointed commit.
//
// While checkpoints fail (a full disk), commits go on in the WAL while it has room,
// reads see the last checkpoint, and the retries back off (see package engine): nobody
// pays a failing checkpoint per request.
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
// WAL record as the postings waiting then: pruning adds no fsync that a posting waits
// for, and batches are paced so that pruning takes at most half the writer's time.
//
// # Disk quota (quota.go)
//
// The live size (bbolt's high-water mark minus free pages, plus the WAL payload not yet
// checkpointed; under a quota the committer checkpoints before that exceeds 1 % of it) is
// measured after every commit and prune, by the committer alone: the quota state has one
// owner, and retention asks the committer to measure rather than measure beside it. At 80 % of journal.max_db_size one disk_space exception is raised (re-armed
// below 75 %); at 95 % Commit refuses new transactions with ErrDiskFull before they reach
// the committer (a retry of a committed id still gets its original answer). Acks, sessions,
// snapshots, exceptions and pruning are never refused, so depotd recovers by itself. A
// commit that fails with ENOSPC (or EDQUOT) is ErrDiskFull too: bbolt rolls the
// transaction back, no seq is consumed and the file stays consistent; posting resumes when
// space returns; the error says so once, with its cause. The WAL is allocated in advance, so while it has room commits go on
// even when checkpoints fail for want of space; once it is full they fail the same way.
//
// # Schema versions (migrate.go)
//
// meta "schema" is the layout version (SchemaVersion). Open refuses a newer one with
// ErrSchemaTooNew without writing; it replays the WAL first (its records are writes in the
// layout that wrote them) and then migrates an older layout forward in one bbolt
// transaction after copying the file to <db>.schema-v<N>.bak, so that both the step and
// the copy see every acknowledged transaction. testdata/schema holds a database of every
// layout, each migrated by TestMigrateFromCommittedSchemas, and a crash-left database and
// WAL pair (TestOpenReplaysTheWALBeforeMigrating).
//
// # Backup and restore (backup.go)
//
// A backup is one read transaction's WriteTo: consistent, taken while depotd runs, with its
// SHA-256 beside it. Restore verifies it fully before writing, refuses while another process
// holds the database, and never lets a seq be reused: it skips every seq above the backup
// that the replaced database (its WAL replayed) or the ERP may have seen, stores a void
// transaction at each (void.go: type void, no lines, forwarded and acknowledged like any, so
// seqs stay gap-free and the uplink never stalls on a hole; at most MaxRestoreVoids, a
// floor further above the backup is refused with ErrTooManyVoids), and raises a restore
// exception naming them. It never destroys the replaced database: the database and its
// WAL are kept as <db>.replaced-<time> and <db>.replaced-<time>.wal (hard links, the
// directory fsynced) before the restored copy is renamed into place, and the restored copy
// gets a WAL identity of its own, so a crash at any point leaves either database whole. A replaced database that cannot be read is kept
// unread, and the restore is refused (ErrFloorUnknown, saying where to find the number)
// unless the operator gives the floor: its seqs cannot be counted.
//
// # Caveats
//
// The database file never shrinks on its own (see depotd db compact). Only one process may
// open it: a second one fails with ErrLocked after Options.LockTimeout. A backup's read
// transaction lasts as long as its download; a commit that must grow the file meanwhile
// waits for it (bbolt cannot remap under a reader). The committer's bbolt transaction is
// open between checkpoints, so memory holds up to one WAL's worth of dirty pages. Compact
// and Restore replay the WAL before they touch the database. Close checkpoints and always
// returns: if the final checkpoint fails (a full disk), Close says so in its error and the
// WAL keeps what it holds for the next Open to replay. A depotd from before the WAL
// ignores it: after a clean stop (Close checkpoints) that loses nothing, after a crash it
// would, so downgrade only after a clean stop.
package edge
