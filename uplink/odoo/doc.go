// Package odoo is the ERP end of the uplink for Odoo 19: a small client for Odoo's JSON-2
// API and, on top of it, what `depotd erp setup` and the connector need (the version
// check, the settings and locations posting relies on, and the server action that posts a
// depot transaction exactly once).
//
// # Client
//
// Client.Call is POST {url}/json/2/{model}/{method} with named arguments, a bearer API
// key and X-Odoo-Database. Odoo runs each call in its own database transaction, retrying
// serialization failures itself up to five times, so a call either committed whole or
// not at all; only a call that got no answer (ErrUnavailable) has an unknown outcome.
// Every error is an *Error carrying the HTTP status, Odoo's exception name and message,
// and one kind from errors.go that says whether retrying can help (Retryable): 401
// (ErrUnauthorized), 403 (ErrForbidden), 404 (ErrNotFound) and 422/400 (ErrRefused) are
// not worth retrying; 5xx (ErrServer), 409/429 (ErrConflict) and no answer
// (ErrUnavailable) are. Odoo's traceback is kept in Error.Debug for logs and never put in
// Error().
//
// # Quantities
//
// Quantities are exact decimals (shopspring/decimal) on our side and travel to Odoo as
// JSON strings. Odoo's float fields accept strings on a plain write, but Odoo rounds to
// the field's digits silently (tested: a 2-digit field turns "1.125" into 1.13), and its
// stock code does arithmetic on the raw values before they are converted (a string
// product_uom_qty fails with a TypeError). So the post action checks each quantity
// string against Odoo's "Product Unit" precision, refuses one with more decimals
// (BAD_QTY), and only then turns it into a float, which Odoo's rounding maps back to
// exactly the depot's decimal. Answers are decoded with json.Number or decimal.Decimal,
// so what Odoo stored is read back digit for digit and compared exactly in tests.
//
// # Setup
//
// Setup (`depotd erp setup`) refuses any Odoo but 19.x, turns on Lots & Serial Numbers,
// Storage Locations and Expiration Dates when they are off, checks each depot's warehouse
// and mapped locations, creates a missing Quarantine/Damaged location directly under the
// warehouse, makes each depot's applied-seq record (ir.config_parameter
// depotd.applied_seq.<depot>) and installs the post action (ir.actions.server with the
// xml id depotd.action_post_<digest of its code>, embedded from post_action.py, so two depotd
// versions sharing a database each run their own). Each step says
// whether it changed anything; a second run changes nothing. Run one setup at a time:
// two at once can both create a missing location (the action and the applied-seq record
// are protected by unique keys and survive the race).
//
// # Posting exactly once
//
// Poster.Post runs the post action through /json/2/ir.actions.server/run with the
// transaction in the context. Inside that one Odoo database transaction the action
// checks the idempotency key (ir.model.data depotd.tx_<depot>_<seq>, DECISIONS.md) and
// the depot's applied seq: a seq already keyed answers "duplicate" and changes nothing; a
// seq beyond applied+1 answers "gap"; the next seq writes the applied seq first (the row
// lock serializes a depot's postings: a concurrent retry of the same seq waits, fails
// with a serialization error once the first commits, and Odoo re-runs it, so it finds
// the key), then posts all the lines and creates the key. Per type:
//
//   - receipt: an incoming picking from the vendor location, origin = ref (lots and expiry
//     on the move lines);
//   - issue: an outgoing picking to the customer location, lots as scanned (they must
//     exist in Odoo: UNKNOWN_LOT otherwise);
//   - a receipt or an issue whose ref names an open incoming or outgoing picking of the
//     warehouse (its name or origin: this Odoo may have no purchase or sale app, so the
//     picking is the order) is posted against it instead: the depot's lines replace what
//     Odoo reserved, a product the picking lacks is added to it, quantities are in the
//     product's unit whatever unit the demand is in, and what is still due stays on a
//     backorder (Result.Backorder);
//   - transfer and status: an internal picking between the mapped locations. A line's
//     state picks the state's location (Depot.StateLocation; in_transit is the warehouse
//     company's transit location), so a state change is a move into or out of it; one
//     between states Odoo keeps in one location (available, reserved) moves nothing;
//   - return: an incoming picking from the customer location into the line's state's
//     location (quarantine, as the depot stores returns), the return of the done delivery
//     named by ref when there is one (return_id, and each move's origin_returned_move_id);
//   - scrap: one stock.scrap per line, tagged with the reason (stock.scrap.reason.tag,
//     made when missing), the evidence posted on its chatter;
//   - adjustment and count: an inventory adjustment on the stock.quant (inventory mode,
//     inventory_quantity, action_apply_inventory, as Odoo's Physical Inventory does) by the
//     depot's delta (the adjustment's signed quantity; counted minus expected at the depot
//     for a count), added to what the quant holds now, so moves Odoo made since the depot
//     counted are not undone. The move's reference names the depot, the seq, the type and
//     reason and, for a count, the counted and expected quantities; its origin is ref; the
//     evidence is attached to it (ir.attachment), having no picking to carry a note. A lot
//     Odoo lacks is created for stock that appears (UNKNOWN_LOT for stock that goes). A
//     count someone has set in Odoo on that quant and not applied yet is kept.
//
// A lot the depot keeps for a product Odoo does not track is ignored (the stock is the
// product's).
//
// Pickings are confirmed, their move lines written with the depot's quantities, and
// validated; the picking's note is the evidence: the raw scans and each line's weight,
// packaging and scanned unit. Moving expired lots inside the warehouse or taking them
// back from a customer needs no confirmation; receiving or shipping one is LOT_EXPIRED. A
// new lot of a product managed by expiration date without its date (and no expiration
// time in Odoo to derive one) is EXPIRY_REQUIRED, decided from the data before Odoo
// validates. Any failure rolls all of it back. A refusal that is the data's fault comes
// back as a *Rejection with a code (uplink/PROTOCOL.md lists them) and a message for a
// supervisor; Poster.Reject then records the seq as
// processed without a movement (keeping the code and message in Odoo, so a duplicate
// tells them again) so that the next one can be applied; Poster.Void records a void
// entry (a seq a depot restore skipped) the same way. So a timeout, a retry, a restart or
// a second connector never doubles a movement, and nothing is skipped. A type depotd does
// not know is ErrNotImplemented (never rejected).
//
// # The connector
//
// Applier is the uplink/erpcore Applier over a Poster; Service (`depotd erp`) checks that
// Odoo is 19.x and knows every configured depot, then runs the consumer core with it.
//
// # The downlink
//
// Downlink (downlink.go, masters.go, snapshot.go) sends Odoo's data back to each depot
// (uplink/PROTOCOL.md). Master data, retained: items are the active goods with an
// internal reference (the SKU): name, barcode, unit, tracking, use of expiration dates,
// weight in kg, cost price (standard_price, as unit_value; not when 0), and as packagings
// the product's packaging units that have a barcode for
// it (product.uom), with their factor over the product's unit; locations are the internal
// locations of the depot's warehouse (its state locations left out: they are states at
// the depot), named back as the depot names them (Depot.DepotLocation); operators come
// from erp.yaml (this Odoo has no HR app); documents (documents.go) are the warehouse's
// open pickings (confirmed, waiting, assigned; incoming, outgoing, internal), each move's
// demand in the product's unit (product_qty) and, once picked, its quantity scaled
// alike as done. Every downlink.poll one grouped query per
// model (newest write_date, count, archived records included) says whether anything
// changed; only then are the payloads read, and a payload goes out only when its version
// (newest write_date + content hash) differs from the one last published to that depot,
// kept in state_dir/downlink.json across restarts. Caveat: a broker that lost its
// retained messages is not noticed; the depots keep what they stored, and a change in
// Odoo (or removing downlink.json) publishes again.
//
// Orderpoints (orderpoints.go) are the active stock.warehouse.orderpoints of the depot's
// warehouse with a maximum above 0, as the depot's min/max rules: SKU, depot location,
// minimum, maximum, the replenishment unit's factor as the multiple, and as source the
// same-warehouse location their route pulls from, else "central".
//
// # Proposals
//
// The connector subscribes to each served depot's {prefix}proposal (erpcore's Proposal
// hook). proposals.go spools each approved proposal to state_dir/proposals (fsynced)
// before the broker gets its ack, and its own goroutine hands it to the proposal action
// (proposal_action.py, installed by setup), which makes confirmed pickings from the
// source (the stock of the warehouse the depot's warehouse resupplies from, Odoo's
// "Resupply From", for central; the mapped depot location for a van) to the mapped
// location, exactly once by the ir.model.data key proposal_<depot>_<id>, claimed first in
// the same Odoo transaction. Covered rule: when Odoo already has an open stock.move of the
// product into the location (or below it) from outside it, in any state but done and
// cancel (a draft transfer someone made, what Odoo's own orderpoint or an earlier proposal
// ordered), no second request is made and the key points at that move. From central, when
// the resupply route Odoo made for "Resupply From" goes through a transit location, the
// request follows its two legs, chained: the central's delivery from its stock to transit
// and the depot's receipt from transit into the location (the key points at the receipt);
// without such a route it is one internal picking from the central stock.
//
// Stock snapshots are read from stock.quant on the depot's erpcore worker between two
// of its postings (erpcore's Between hook), and Odoo's applied seq is read back to check
// that nobody else posted meanwhile, so applied_seq is exact. One is taken when the
// worker starts, after downlink.snapshot_every processed seqs, every
// downlink.snapshot_interval and on the depot's request ({prefix}request).
//
// # Batches
//
// When a depot has a backlog (an outage, a connector restart), the consumer hands the
// Applier up to odoo.batch (erp.yaml, default 20; 1 turns it off) consecutive seqs
// already buffered, never waiting for more: Applier.ApplyBatch, Poster.Batch, one post
// action call with op "batch". The action applies each in its own savepoint, in seq
// order, with the same checks and key as a single posting: a refusal that is the data's
// fault rolls back that transaction only and is recorded as rejected at once (its code
// and message, as Reject would); the next one goes on. Any other failure stops the batch
// at that seq: what came before commits and is acknowledged, the rest is handed again. A
// batch re-sent after a lost answer finds every key and answers duplicate.
//
// Odoo's own work per receipt (create, confirm, assign, set quantities, validate a
// picking) costs far more than a call, and far more done record by record than on a
// recordset: so the action posts each run of consecutive receipts of a batch together,
// every step once for the run (one create of the run's pickings, one action_confirm, one
// create of their move lines, one button_validate, one create of their keys), in one
// savepoint, after the param row is written (the lock that keeps exactly once). A run is
// only what ends as it would one by one: receipts, each the next seq with its key
// unclaimed, every line passing the same checks (read before the run is made), none
// received against an open picking, no new lot named twice; anything else (an issue, a
// transfer, a void, a refused line) ends it and goes alone, in seq order, seeing all
// before it. When the run fails (a refusal only validation shows, such as an expired
// lot, or anything else) it is undone whole and posted one by one, so a refusal is still
// that seq's alone. Result.Grouped tells which seqs went together. Measured
// (BenchmarkBatchedVsOneCallPerTransaction, batches of 20 one-line lot receipts, load
// average 2 to 4 on 2 cores): 16.7 tx/s batched against 2.5 tx/s one call each, 6.6×.
// The outage backlog, end to end through uplink, mosquitto and the service
// (TestADepotsBacklogDrainsIntoOdooOnceAfterAnOutage, DEPOTD_BACKLOG=10000): 9,999
// receipts drained in 13m37s, 12.2 tx/s, every key, move and picking once and the stock
// exact (load average 4 to 13 after a disk-bound first quarter; 2,000 had taken 15
// minutes at 2.2 tx/s before runs were grouped); the test's default 999 in 41.7 s, 24.0
// tx/s at load 2 to 3. Live traffic, 5 tx/s over 10 depots, is still slow at the tail
// (BenchmarkEndToEndLatencyTenDepotsAtFiveTxPerSecond, 150 tx, load 3.4: commit to ack
// p50 2.9 s, p99 43.9 s).
//
// # Operations
//
// Service serves /healthz and /metrics (Prometheus text, its own registry) on
// http.listen; every Odoo call is observed through Client.WithObserver for the latency
// histogram and the errors by kind. On SIGTERM the consumer drains its posting in flight
// (erpcore), then the poll and the HTTP server stop; Run returns nil.
//
// # Concurrency
//
// A Client and a Poster are safe for concurrent use; a depot's seqs are posted in order
// by one caller (the action serializes them in Odoo regardless).
package odoo
