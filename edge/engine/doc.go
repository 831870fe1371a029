// Package engine is the journal's storage engine, below the domain: a bbolt database
// whose read-write transaction stays open across group commits (Engine), the
// write-ahead log file that makes a group durable with one fdatasync (Log), and the one
// goroutine that writes it and answers each group once it is durable (Syncer). The
// journal (package edge) decides what a group writes and when a checkpoint is wanted;
// this package owns the order of writes, syncs and answers, the file format, replay and
// every failure path. Each type states its own invariants; this page gives the argument.
//
// # Durability: which fsyncs happen, in which order
//
// bbolt alone needs two fdatasyncs per commit, over pages scattered through its file;
// the log needs one, of one write into a file that is already allocated. The log is
// created at its fixed size by writing zeros, and at every open (not only when it is
// created: a crash between the zero-fill and its fsync leaves a file of full size that
// was never synced) the file and its directory are fsynced. Its blocks are therefore
// allocated and written: an overwrite changes neither the file size nor its block map,
// so fdatasync has no metadata to flush.
//
// A group commit, in order:
//  1. the owner (the journal's committer) applies the group to the open transaction (Tx),
//     through a Writer that records every write as the group's payload;
//  2. the Syncer writes everything handed over since its last write as the next record
//     (pwrite) and calls fdatasync;
//  3. only after fdatasync returned, and every earlier record is durable too, are the
//     group's callers answered.
//
// A checkpoint commits the open transaction (never NoSync), with the last record it
// holds as its wal_lsn (Config.SetLSN): bbolt writes every dirty page (copy-on-write: no
// page the previous meta reaches is overwritten), fdatasyncs, writes the new meta page
// (checksummed, two alternating copies) and fdatasyncs again. Only after that returns
// does the log start over at offset 0 (Log.Restart).
//
// Replay (at open) applies from offset 0 every record whose CRC is intact, whose id is
// the database's and whose lsn is the next after wal_lsn, and stops at the first that is
// not. A power cut at any instant therefore leaves:
//   - acknowledged groups since the last checkpoint: their records were fdatasynced in
//     lsn order, and the checkpoint's wal_lsn points just before the first of them,
//     because the log is reused only after a checkpoint is durable;
//   - at most one torn or unsynced record, the last, whose callers were never answered:
//     its CRC or lsn ends the replay (records of earlier rounds carry lower lsns);
//   - a bbolt file at either checkpoint around an interrupted one: the old meta page
//     stays the newest valid one until the second fdatasync, and the log still holds
//     everything since it.
//
// An intact record of a later lsn beyond the end of the replay cannot come from a torn
// write: Read answers *CorruptError rather than drop the acknowledged records after the
// damage.
//
// # When a write, a sync or a checkpoint fails
//
// If a log write or its fdatasync fails, the groups it held wait for a checkpoint
// instead, and no record is written until a checkpoint has succeeded; that checkpoint
// sets wal_lsn past every lsn handed out, so the failed record, intact or not, can never
// be replayed over it. If the checkpoint fails as well, the groups of the failed record
// are told their outcome is unknown (Domain.Fail with logged: the record may be replayed
// at the next open), the other groups not yet durable a definite failure. A group too
// big for the log space left (ErrFull), or an engine without a log, is also made durable
// by a checkpoint.
//
// A failed checkpoint rolls the open transaction back to the last one and replays the
// log onto a new one, so only groups the log does not hold fail with it; groups queued
// for the log are written first. Optional checkpoints are then retried with a backoff
// doubling from 50 ms to 1 s, and the failure is logged at most every 30 s: commits go
// on in the log while it has room. Once only a checkpoint can make a group durable (the
// log is full, or its last write failed) and one failed moments ago, Unavailable says so
// and the owner fails new groups at once. Close always returns: a final checkpoint that
// fails leaves the log holding what it holds, for the next open to replay.
//
// # The log file
//
// A ring of fixed size that restarts at offset 0 after every checkpoint. Each record:
//
//	crc32c   uint32  over everything after it up to the end of the payload
//	length   uint32  payload bytes
//	lsn      uint64  1, 2, 3, …; the checkpoint records the last one it holds
//	log id   uint64  the database's random id: records of another database never replay
//	payload  ops:    kind byte (OpPut, OpDelete), bucket (byte length + name),
//	                 key (uvarint length + bytes), value (uvarint length + bytes, puts only)
//
// padded with zeros to a multiple of BlockSize: a record never shares a block with
// another, so writing one cannot tear one already acknowledged.
//
// # Why the padding costs no flash
//
// A smaller alignment (512 B, with the CRC that already detects a torn record) would not
// write fewer bytes to the device: on a filesystem of 4 KiB blocks (ext4 on SD and eMMC)
// every fdatasync writes whole blocks, and a 512 B overwrite costs a 4 KiB block like a
// padded record (edge's BenchmarkWriteAmplification, raw-overwrite case: 4,104 device
// bytes per sync). It would only let the next record rewrite the block that holds
// acknowledged ones, which a power cut in mid-write could tear: exactly what the padding
// rules out. What the log writes per transaction is one block per group commit (4,096 B
// at one writer, about 570 B at sixteen); fewer bytes need bigger groups, not a smaller
// alignment.
package engine
