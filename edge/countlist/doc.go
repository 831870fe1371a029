// Package countlist builds a depot's risk-based daily cycle-count list from its journal:
// the items most likely to be wrong, each with the reasons it is on the list.
//
// # Model
//
// Items are classed A, B or C twice over the window (Config.WindowDays, default 90), each
// time by the Pareto split of classic ABC cycle counting (A holds the items that make the
// first 80 % of the total, B the next 15 %, C the rest): by consumption value (issued and
// scrapped quantity × the item's unit_value from master data, exact) and by velocity (how
// many transactions moved it). An item takes the higher of its two classes, so a dear
// slow mover is counted as often as a cheap fast one; an item without a unit value is
// classed by velocity alone. Each entry's first reason says which class came from what
// (e.g. "class A (value A: 105000 consumed in 90 days; velocity C: 10 moves in 90 days)").
// Each class has a count interval (A 7, B 30, C 90 days). An item is
// due when the days since its last count reach its interval; every count in the window
// that found a delta halves the interval (items whose counts found deltas come back
// sooner). Recent adjustments and weight_mismatch or count_discrepancy exceptions (within
// Config.RecentDays, default 14) put an item on the list whatever its class. The score
// is the overdue ratio (days since the last count ÷ interval; an item not counted in
// the window counts as the window ÷ interval) plus 3 per recent adjustment or
// disagreement (it says the item may be wrong now); the list is the Config.Size (default 20) highest scores, each with its
// reasons, and the locations where it has stock. The console's Counts page prints, under
// each location, the command barcode CMD:COUNT:<location> that starts a count there from a
// station (edge/station).
//
// # Cost and durability
//
// Build reads the journal (Scan, in chunks) and the exceptions on demand; nothing is
// stored, so the list always derives from the journal and survives a restart by
// construction, and nothing touches the commit path. History is what the journal still
// holds (journal.retention).
package countlist
