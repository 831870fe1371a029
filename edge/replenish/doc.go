// Package replenish raises replenishment proposals from min/max rules, as Odoo's
// stock.warehouse.orderpoint does: when a location's local available quantity of an item
// (ERP-confirmed plus pending: the ledger's local quantity in state available, all lots)
// falls below the rule's minimum, it proposes bringing it up to the maximum, rounded up
// to the multiple, from the rule's source: the central warehouse for a branch, a depot
// location for a van (mobile) location, whose own consumption by technicians is what
// drains it.
//
// # Contract
//
// Proposals are journalled (edge.Journal.RaiseProposal); at most one is active per item
// and location, enforced by the journal in the same bbolt transaction as the write, so a
// restart or two passes never raise a duplicate. A proposal stays active, whatever a
// supervisor decides (approve, change, dismiss), until the location's available quantity
// is back at or above the minimum: then the proposer closes it, and the next dip raises a
// new one.
//
// # Rules: the config's and the ERP's
//
// Rules come from the depot config (replenishment.rules) and from the ERP's orderpoints,
// downlinked as master data (edge.MasterKindOrderpoints, stored by the uplink). Each pass
// applies the two merged by the rule of edge.MasterView, per (item, location): an ERP
// orderpoint replaces the config's rule for the same item and location whole (min, max,
// multiple, source); rules on one side only are kept. An orderpoint the depot cannot apply
// (a location it does not list, or one that is not internal or mobile; a source that is
// neither central nor another internal location) is left out and logged once per snapshot.
// A proposal raised under one rule is judged by the rule in force at each later pass: when
// the ERP changes the minimum, the new minimum closes it.
//
// # Cost and concurrency
//
// Proposer.Run is one goroutine, owned by its caller and stopped by its context. It reads
// the ledger as the last checkpoint holds it (StockCheckpointed), woken by checkpoints and
// at most once per MinGap: it never asks the committer for a checkpoint, so watching the
// ledger costs the commit path nothing. A proposal can therefore lag a commit by up to
// one checkpoint interval (1 s by default).
package replenish
