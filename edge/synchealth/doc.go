// Package synchealth measures how healthy a depot's synchronisation with the ERP is, as
// the governance practice asks: per item class, the latency from commit to the ERP's ack,
// how often stock is adjusted, how often counts find a discrepancy; the exceptions by kind
// and their age; and how old the backlog is. It gives the figures of the last Days (30)
// days as a whole and per day, for the console's Sync page, /metrics and the status
// message central ops read.
//
// # Figures
//
// A transaction belongs to each class of the items on its lines; classes are the count
// list's ABC split by velocity (countlist.Classify) of the moves in the window (the count
// list splits its own 90-day window and also classes by consumption value, keeping the
// higher class, so an item near a boundary or dear and slow may be classed otherwise there).
// Voids count nowhere. Latency is the time from a transaction's commit to the ack that
// moved the watermark past it (edge.AckMarks); seqs acknowledged before layout 5 have no
// ack time and count as unknown, never as 0. Adjustment frequency is adjustment lines per
// item of the class and week of the window; the discrepancy rate is the share of count
// lines whose delta was not zero. Exceptions are counted by kind: the open ones with the
// age of the oldest, and those raised in the window. The backlog age of a day is the age,
// at the day's end (now for today), of the oldest transaction committed and not yet
// acknowledged then, derived from the commit times and the ack marks. Percentiles are
// nearest-rank over every acknowledged transaction; rates are plain ratios (no quantity
// is involved: edge.Qty is only compared with zero).
//
// # Cost and durability
//
// Nothing is stored: every figure derives from the journal (the transactions, the ack
// marks, the exceptions), so it survives a restart by construction and adds nothing to
// the commit path. A Report reads the window only: the first seq of the window by binary
// search (edge.Journal.FirstSeqAt, O(log n) point reads), then its transactions and ack
// marks in chunks (short read transactions), and the exceptions. On a journal of 1,000,000
// entries it costs what the window holds, not the journal: BenchmarkReport measured 7 µs
// per transaction of the window (143 ms for 20,000; on the shared 2-core test machine at
// a load of 3.6), so a depot committing 1,000,000 a year (82,000 in 30 days) pays about
// 0.6 s of one core per report. Tracker keeps the last report (for 10 s, and for 30 s
// while nothing is committed or acknowledged), so that scrapes, status messages and page
// views do not each read the window: a busy depot pays one report per 10 s at most.
//
// # Concurrency
//
// Tracker is safe for concurrent use; it starts no goroutine.
package synchealth
