package main

import (
	"encoding/json"
	"time"

	"github.com/depotd/depotd/edge"
)

// demoDocuments are the open ERP documents the demo's simulated ERP publishes: a receipt
// that was due yesterday (scan REF:WH/IN/00012 at the dock to see scanned against
// expected; until then the Today page lists it as overdue) and a delivery the depot has
// no stock for (a reservation above on-hand on the Today page).
func demoDocuments(now time.Time) ([]byte, error) {
	return json.Marshal(edge.MasterDocuments{V: 1, Version: "demo", Documents: []edge.Document{
		{Ref: "WH/IN/00012", Kind: edge.DocReceipt, Origin: "PO0042", Partner: "Acme Fasteners", Scheduled: now.Add(-26 * time.Hour).Truncate(time.Hour).UTC(),
			Lines: []edge.DocumentLine{
				{Item: "WATER-6", Qty: edge.MustQty("24"), UoM: "Units"},
				{Item: "BOLT-BOX", Qty: edge.MustQty("5"), UoM: "Units"}}},
		{Ref: "WH/OUT/00007", Kind: edge.DocIssue, Origin: "S00019", Partner: "Northside Clinic", Scheduled: now.Add(4 * time.Hour).Truncate(time.Hour).UTC(),
			Lines: []edge.DocumentLine{{Item: "VACCINE", Qty: edge.MustQty("30"), UoM: "Units"}}},
	}})
}
