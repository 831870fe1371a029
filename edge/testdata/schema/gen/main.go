// Command gen writes a small database in the journal's current layout to
// edge/testdata/schema/schema-vN.db (N = edge.SchemaVersion). Run it once whenever the
// layout changes, before changing it, and commit the file: TestMigrateFromCommittedSchemas
// migrates every committed predecessor forward.
//
//	go run ./edge/testdata/schema/gen
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge"
)

func main() {
	out := filepath.Join("edge", "testdata", "schema", fmt.Sprintf("schema-v%d.db", edge.SchemaVersion))
	if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
		log.Fatal(err)
	}
	cat, err := edge.NewCatalog([]edge.Location{
		{Name: "WH/Stock", Type: edge.LocInternal},
		{Name: "WH/Input", Type: edge.LocInternal},
	}, nil, nil)
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j, err := edge.Open(out, edge.Options{Depot: "SCHEMA", Catalog: cat, Now: func() time.Time { return at }})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 20; i++ {
		tx := edge.Transaction{ID: fmt.Sprintf("schema-%02d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("2"), To: "WH/Stock"}}}
		if i%4 == 0 {
			tx = edge.Transaction{ID: fmt.Sprintf("schema-%02d", i), Type: edge.Transfer,
				Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), From: "WH/Stock", To: "WH/Input"}}}
		}
		if _, _, err := j.Commit(ctx, tx); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 12, Rejected: []edge.Rejection{{Seq: 3, Code: "E1", Message: "test"}}}); err != nil {
		log.Fatal(err)
	}
	if err := j.ApplyStockSnapshot(edge.StockSnapshot{V: 1, AppliedSeq: 10,
		Rows: []edge.StockSnapshotRow{{Item: "SKU-1", Location: "WH/Stock", Qty: edge.MustQty("14")}}}); err != nil {
		log.Fatal(err)
	}
	if _, err := j.NextSession(); err != nil {
		log.Fatal(err)
	}
	if probs := j.Check(); len(probs) > 0 {
		log.Fatal(probs)
	}
	if err := j.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", out)
}
