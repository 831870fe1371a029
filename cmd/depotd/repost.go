package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/depotd/depotd/edge"
)

func init() {
	register("repost", "post a forced restore's dropped transactions again (depotd stopped): depotd repost --config PATH FILE", repostCmd)
}

func repostCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd repost", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: depotd repost [--config PATH] FILE

Posts again, as new transactions, the transactions a forced restore dropped: FILE is the
<db>.dropped-<time>.jsonl that depotd restore --force wrote beside the database. Each goes
through the journal like any post (today's locations, master data and stock rules apply),
under an id derived from its own (repost-<id>), so running it twice posts nothing twice.
A summary says what became of each; the exit status is 1 if any was refused (fix the cause,
then run it again: the ones posted are not posted again). Run it with depotd stopped.`)
		fs.PrintDefaults()
	}
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file (gives data_dir, the depot id, locations and master data)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "depotd repost: give one FILE (the <db>.dropped-<time>.jsonl of a forced restore)")
		return 2
	}
	file := fs.Arg(0)
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "depotd repost:", err)
		return 1
	}
	f, err := os.Open(file)
	if err != nil {
		fmt.Fprintln(stderr, "depotd repost:", err)
		return 1
	}
	dropped, err := edge.ReadDropped(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "depotd repost: %s: %v; nothing was posted\n", file, err)
		return 1
	}
	j, err := edge.Open(filepath.Join(cfg.DataDir, dbFile), edge.Options{Depot: cfg.Depot.ID, Catalog: cfg.catalog(), Master: cfg.masterData()})
	if errors.Is(err, edge.ErrLocked) {
		fmt.Fprintf(stderr, "depotd repost: depotd is running on %s: stop it first (systemctl stop depotd); nothing was posted\n", cfg.DataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "depotd repost:", err)
		return 1
	}
	outcomes, rerr := j.RepostDropped(ctx, dropped)
	if err := j.Close(); err != nil && rerr == nil {
		rerr = err
	}
	var posted, again, skipped, refused int
	for _, o := range outcomes {
		what := fmt.Sprintf("seq %d %s (id %s)", o.Dropped.Seq, o.Dropped.Type, o.Dropped.ID)
		switch {
		case o.Skipped != "":
			skipped++
			fmt.Fprintf(stdout, "skipped  %s: %s\n", what, o.Skipped)
		case o.Err != nil:
			refused++
			fmt.Fprintf(stdout, "REFUSED  %s: %v\n", what, o.Err)
		case o.Existing:
			again++
			fmt.Fprintf(stdout, "already  %s: re-posted before as seq %d\n", what, o.Seq)
		default:
			posted++
			fmt.Fprintf(stdout, "posted   %s: now seq %d (id %s)\n", what, o.Seq, edge.RepostID(o.Dropped))
		}
	}
	fmt.Fprintf(stdout, "%s: %d posted, %d already re-posted, %d refused, %d skipped\n", file, posted, again, refused, skipped)
	if rerr != nil {
		fmt.Fprintf(stderr, "depotd repost: stopped after %d of %d: %v; run it again (nothing is posted twice)\n", len(outcomes), len(dropped), rerr)
		return 1
	}
	if refused > 0 {
		return 1
	}
	return 0
}
