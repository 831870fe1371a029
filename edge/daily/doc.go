// Package daily builds the depot's daily exception board (the console's Today page):
// what is wrong at the depot right now and who should act, computed on demand from the
// journal, the ledger and the ERP's open documents (master/documents), offline.
//
// # Rows
//
//   - Negative stock: a ledger row below zero. The supervisor counts it (or finds the
//     missing receipt).
//   - Overdue receipt: an open ERP receipt whose scheduled time has passed and that no
//     receipt in the journal names by its ref. Purchasing chases the supplier; if the
//     goods are here, the receiving operator receives them.
//   - Too long in transit: stock in the in_transit state longer than the lead time
//     (console.in_transit_lead_time, default 48h), aged first in, first out: each
//     quantity entering in_transit at a (item, location, lot) is the oldest until
//     quantities leaving it have used it up. The supervisor confirms its arrival (a
//     status move out of in_transit) or chases the sending depot.
//   - Reservation above on-hand: for an item, the greater of the ledger's reserved stock
//     and the open deliveries the ERP downlinked that no depot issue answered yet (the
//     depot reserves for those deliveries, so the two are not added), above the item's
//     on-hand at the depot (available plus reserved). The supervisor decides which
//     delivery waits, or counts.
//
// # Cost and concurrency
//
// Build reads the ledger, the open documents and the whole journal once (a scan, no
// long read transaction), off the commit path: it runs only when someone asks. It holds no
// state and is safe for concurrent use.
package daily
