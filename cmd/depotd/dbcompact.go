package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/depotd/depotd/edge"
)

// dbCompactCmd is `depotd db compact --config PATH`: an offline bbolt compaction of the
// journal (depotd must be stopped), reporting the size before and after.
func dbCompactCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd db compact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "depotd db compact:", err)
		return 1
	}
	db := filepath.Join(cfg.DataDir, dbFile)
	res, err := edge.Compact(db, edge.Options{Depot: cfg.Depot.ID, Catalog: cfg.catalog()})
	if errors.Is(err, edge.ErrLocked) {
		fmt.Fprintf(stderr, "depotd db compact: %s is in use: stop depotd first (systemctl stop depotd)\n", db)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "depotd db compact:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: compacted from %s to %s (%s given back)\n", db,
		edge.ByteSize(res.Before), edge.ByteSize(res.After), edge.ByteSize(res.Before-res.After))
	return 0
}
