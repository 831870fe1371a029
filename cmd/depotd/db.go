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

func init() {
	register("db", "database tools: depotd db check|compact --config PATH", dbCmd)
}

func dbCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "compact" {
		return dbCompactCmd(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: depotd db check|compact --config PATH\n\n  check    verify the database offline: page consistency, gap-free seqs, id index,\n           and the stock ledger against a replay of the journal\n  compact  rewrite the database offline (depotd stopped) to give pruned space back to\n           the filesystem; prints the size before and after")
		return 2
	}
	fs := flag.NewFlagSet("depotd db check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "depotd db check:", err)
		return 1
	}
	j, err := edge.Open(filepath.Join(cfg.DataDir, dbFile), edge.Options{Depot: cfg.Depot.ID, Catalog: cfg.catalog()})
	if errors.Is(err, edge.ErrWALCorrupt) {
		fmt.Fprintln(stdout, "FAIL", err)
		fmt.Fprintf(stdout, "%s: 1 problem(s)\n", filepath.Join(cfg.DataDir, dbFile))
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "depotd db check:", err)
		return 1
	}
	defer j.Close()
	st, err := j.Status()
	if err != nil {
		fmt.Fprintln(stderr, "depotd db check:", err)
		return 1
	}
	problems := j.Check()
	for _, p := range problems {
		fmt.Fprintln(stdout, "FAIL", p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", j.Path(), len(problems))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (last_seq %d, acked_seq %d, backlog %d)\n", j.Path(), st.LastSeq, st.AckedSeq, st.Backlog)
	return 0
}
