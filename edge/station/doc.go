// Package station turns what operators scan at a dock (badge, commands, locations,
// quantities, products) and what the station's scale weighs into inventory transactions
// committed to the journal.
//
// # Contract
//
// A Manager owns every configured station and is the devices.Sink the device supervisor
// delivers to. Each station is a small state machine with one open document at a time.
// Every scan gets exactly one Event: accepted, prompt (accepted, and the message says what
// to scan next) or refused (nothing changed; the message says why). The event is published
// to subscribers, kept as the station's last feedback (Snapshot, GET /api/v1/stations) and
// answered with a good or bad beep where the scanner can beep.
//
// Barcodes (prefixes from the barcodes: section): OP:<badge> logs in, and out when the
// same badge is scanned again; CMD:RECEIVE, ISSUE, TRANSFER, COUNT, RETURN, RELEASE,
// SCRAP, ADJUST switch mode (only with no open lines); CMD:VALIDATE commits; CMD:UNDO
// removes the last line (or the product waiting for its lot, or a pending approval);
// CMD:CANCEL discards the document; CMD:REMOVE makes an adjustment remove stock;
// CMD:COUNT:<location>, printed beside each location on the console's count list (package
// countlist), starts a count at that location (count mode, the location set; refused over
// an open document of another kind, as a mode switch is). Odoo's
// O-CMD.<x> and O-BTN.<x> are the same commands (O-BTN.validate, O-BTN.cancel,
// O-CMD.DISCARD = cancel). QTY:<n> scanned right after a product makes that scan count n
// times (n packagings for a packaging); scanned otherwise, it multiplies the next product
// scan. REF:<name> names the ERP document; in adjust mode it is the reason code instead
// (default station_settings.adjust_reason). A location label (its configured barcode, or
// LOC:<name>) sets the source (issue, scrap, release, transfer) or the destination
// (receive, return, count, adjust); in transfer mode it places the lines still without a
// destination, or else sets the source of the next lines.
//
// Products: GTINs in every form (EAN/UPC, GS1 (01) and (02)+(37)), GS1 lot (10), serial
// (21), expiry (17, or 15), count (37/30) and weight (310n/320n), weight-embedded EAN-13
// (by base code), and internal codes (an item's barcodes or its SKU). A packaging barcode
// adds its quantity to the item's line, in the item's unit, with the packaging kept as
// evidence. An item that needs a lot, serial or expiry waits as "pending" with a prompt
// until a label or code supplies it; CMD:VALIDATE is refused meanwhile. What an item needs
// is the rule every path that posts applies (edge.Item.Missing: the lot or serial always,
// the expiry where goods enter, in receive and return modes), on the depot's one
// master-data view (edge.MasterView, the config's merged with the ERP's, read through the
// journal); the journal checks the document against it again at CMD:VALIDATE.
//
// Expected documents: a REF: that names one of the ERP's open documents (master/documents,
// edge.Document) of the mode's kind (a receipt in receive mode, a delivery in issue mode, a
// transfer in transfer mode) makes the document expect its lines: what the ERP still
// expects of each item (quantity less done, summed per item, in the item's base unit) is
// copied into the station's state then, so a newer snapshot does not change a document
// under the operator's hands. Each product scan's message and the station's status
// (document.expected) show scanned against expected ("5/12"), flag an item the document
// does not name ("unexpected") and an over-receipt ("over"). An over-receipt is accepted
// unless station_settings.refuse_over_expected is true; then the scan (or the QTY: that
// would take the item over) is refused and changes nothing. A ref the depot does not know
// is accepted as before, with nothing to compare with.
//
// Weighing: an item whose unit is kg (or a unit of kg) takes the station scale's stable
// weight (a label weight or a QTY: wins). An item with unit_weight_kg at a station with a
// scale is counted by weight when the scale holds more than half a unit: count = weight ÷
// unit weight, accepted only within ±weight_tolerance × unit weight of a whole number (the
// item's own weight_tolerance where master data gives one, else station_settings'), and
// recorded with the weight (Line.WeightKg). A reading in motion, out of range, older than
// weight_max_age, or already counted is refused, never guessed. A packaging so weighed (a
// bag of 100) counts what the scale says; when that is off its nominal quantity by more
// than the tolerance, a weight_mismatch exception keeps both figures (nominal and weighed,
// units and kg, the difference and the tolerance) for a supervisor.
//
// Serial numbers: for serial-tracked items the line's lot is the serial (as Odoo's
// stock.lot), so the ledger says where each serial is: a serial in stock anywhere in the
// depot cannot be received or returned again, and an issue, transfer or scrap needs it in
// stock at the source location.
//
// Approval: adjustments and scrap whose total quantity or value is above
// station_settings.approval wait at CMD:VALIDATE for a supervisor's (or admin's) badge,
// another person's than the operator's; an operator who is a supervisor needs none. The
// approver is recorded in the transaction's note.
//
// Nothing lost: an unknown or unreadable barcode, a bad frame from the driver, a scan while
// nobody is logged in, an unknown command and a REF: of an already validated document are
// refused and kept as edge.ExcUnresolvedScan exceptions with their raw bytes, station and
// time. Transactions carry station, operator (badge), source "station" and the raw scans.
//
// # Durability
//
// Each station's state (mode, operator, open document, last feedback) is written to the
// journal's stations bucket, fsynced, after every scan and before the beep, so an open
// document survives a restart. Validation commits synchronously (fsynced) before the
// state is saved and the good beep sounds; a document's id is fixed when it opens, so a
// crash between the commit and the state write only makes the next CMD:VALIDATE answer
// "already validated".
//
// # Concurrency
//
// Scans are processed one at a time per station, in arrival order: while Run runs, the
// Sink queues them per station (a full queue makes the driver wait; nothing is dropped).
// Weights are kept as each scale's latest reading. Subscribers get events through bounded
// channels: a slow subscriber loses events and never slows scanning.
package station
