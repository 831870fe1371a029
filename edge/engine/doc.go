// Package engine is the journal's storage engine below the domain: the write-ahead log
// file (Log) that makes a group of writes durable with one fdatasync, and the Syncer, the
// one goroutine that writes it and answers each group once it is durable. The journal
// (package edge) decides what a record holds (its bbolt writes) and when bbolt is
// checkpointed; this package owns the file format, the order of writes and answers, and
// the rules a record on disk obeys (the Syncer's own invariants are on its type).
//
// # The log file
//
// The file has a fixed size, zero-filled when it is created and fsynced with its
// directory at every open, so a record's write never changes the file's size or block
// map and fdatasync has no metadata to flush. It is a ring that the journal restarts
// at offset 0 after every checkpoint (OpenLog starts there). Each record:
//
//	crc32c   uint32  over everything after it up to the end of the payload
//	length   uint32  payload bytes
//	lsn      uint64  1, 2, 3, …; the checkpoint records the last one it holds
//	log id   uint64  the database's random id: records of another database never replay
//	payload  the caller's bytes
//
// padded with zeros to a multiple of BlockSize.
//
// # Invariants
//
//   - A record never shares a block with another, so writing one cannot tear one
//     already acknowledged.
//   - Lsns are handed out in order by Reserve, and the journal writes a record only
//     after the previous one is durable. A torn or unsynced record is therefore always
//     the last one: Read stops at the first record that is not intact, of this log and
//     of the next lsn, and answers *CorruptError (ErrCorrupt) if an intact record of a
//     later lsn lies beyond it, which only damage to acknowledged records can cause.
//   - Records of earlier rounds (before the last checkpoint) carry lower lsns, so
//     they can never be mistaken for the continuation of this round.
package engine
