// Package countlist builds a depot's risk-based daily cycle-count list from its journal:
// the items most likely to be wrong, each with the reasons it is on the list.
//
// # Model
//
// Items are classed A, B or C by velocity over the window (Config.WindowDays, default
// 90): ranked by how many transactions moved them, A holds the items that make the first
// 80 % of those movements, B the next 15 %, C the rest (the Pareto split of classic ABC
// cycle counting; depotd's master data carries no unit value, so velocity stands in for
// value × velocity). Each class has a count interval (A 7, B 30, C 90 days). An item is
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
