// Package uplink forwards the depot's journal to the cloud ERP over MQTT 3.1.1
// (eclipse/paho.mqtt.golang) and applies the ERP's downlink: acks, master data, stock
// snapshots and commands. The wire contract is PROTOCOL.md in this directory.
//
// # Contract
//
// The journal (a small Journal interface that *edge.Journal satisfies) is the only truth.
// A transaction leaves the outbox only when the ERP's ack watermark ({"upto_seq":N} on the
// ack topic) passes it, and the journal fsyncs that watermark before the ack's PUBACK goes
// back to the broker. Nothing is removed on a paho token or a PUBACK: paho's tokens can
// complete without delivery across reconnects, and its stores do not fsync, so the uplink
// uses neither for durability (a fresh in-memory paho client per connection attempt).
//
// Forwarding is go-back-N: transactions are published (QoS 1, strictly in seq order on a
// first send) from the ack watermark up to Inflight above it, streamed from bbolt in short
// read transactions, so memory stays flat for any backlog. The uplink follows the
// journal's checkpoints (edge.Journal.Checkpointed, ScanCheckpointed) rather than its
// write-ahead log: a transaction is published once a checkpoint holds it, about 5 ms after
// the journal goes idle and within 1 s under continuous posting, so that following does
// not cost the journal a checkpoint per commit. When the watermark stands still
// for ResendAfter while sent transactions wait above it (counted from the later of its
// last move and the send of the oldest one waiting), they are sent again from the
// watermark with "replay":true; the delay doubles while the ERP stays silent (capped at 60s
// or ResendAfter), and resets when the watermark moves. After every (re)connect the uplink
// resumes from the watermark at once. Receivers deduplicate by (depot, seq): paho or the
// broker may also repeat a message without "replay":true, and after a depotd restart the
// first send of a seq that was in flight is not marked either.
//
// # Connection
//
// The uplink runs its own reconnect loop (paho AutoReconnect off): before each CONNECT it
// increments the persisted status session (fsynced) and sets the Last Will (retained,
// online:false, that session), tries the configured brokers round robin, and backs off
// from 0.5s doubling with jitter to 30s. The backoff starts again from 0.5s only after a
// connection stayed online for 10s (reconnectHealthy): one that dies at once, after a
// successful CONNECT, must not reconnect every half second. The session is persistent
// (clean session false, client id stable) so acks queued during an outage arrive, and the
// downlink topics are subscribed on every connect anyway. A filter the broker refuses
// (SUBACK 0x80, an ACL) is logged once per connection; a refused ack topic ends the
// connection, since no ack could arrive, while the other topics are done without. A black-holed link is noticed within about 1.5×
// keepalive: by paho's ping, or, when the socket buffer is full and the ping cannot even
// be written, by the uplink's own watch on an outstanding publish's PUBACK.
//
// # Concurrency
//
// Run owns every goroutine it starts (paho's included) and returns after a bounded clean
// shutdown: retained online:false published, DISCONNECT sent, downlink handlers finished.
// State and HandleDownlink are safe for concurrent use. Downlink messages are handled on
// paho's goroutines, each before its PUBACK; the journal serialises them.
//
// # Caveats
//
//   - Exactly-once is in effect only: delivery is at least once, and the ERP must apply each
//     (depot, seq) once.
//   - An ack is trusted as far as the journal allows: beyond last_seq it is refused whole.
//     Within it, an ack above every seq sent (by this process, or found on start) is
//     applied, with a warning logged at most once a minute.
//   - A standalone depot (no uplink section) runs no Uplink at all; its backlog grows.
//   - bbolt reads through mmap, so the file pages a drain reads count in the process's RSS
//     until the kernel reclaims them. A Journal that also implements MemoryReleaser is asked
//     to drop them every 8 MiB streamed, which keeps a 1,000,000-transaction drain near
//     50 MiB RSS (see BenchmarkDrainRSS).
//   - Broker connections are opened by OpenConn (buffered both ways, no environment proxy),
//     not by paho's own dialer.
package uplink
