package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/depotd/depotd/edge"
)

func init() {
	register("restore", "restore a backup (depotd stopped): depotd restore --config PATH --from FILE [--floor N] [--force]", restoreCmd)
}

func restoreCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("depotd restore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "/etc/depotd/depotd.yaml", "config file (gives data_dir and the depot id)")
	from := fs.String("from", "", "backup file written by depotd backup (FILE.sha256 must be beside it)")
	sum := fs.String("sha256", "", "expected SHA-256 when FILE.sha256 is not available")
	floor := fs.Uint64("floor", 0, "the highest seq `N` this depot may have used (the ERP's last applied seq, or last_seq in\n"+
		"depotd fleet --json or the retained status, whichever is higher): new seqs continue above it.\n"+
		"Required when the database in place cannot be read")
	force := fs.Bool("force", false, "replace a database holding transactions the ERP never acknowledged that the backup lacks:\n"+
		"they are exported to a JSON-lines file beside the database and listed in the restore exception")
	fs.Func("erp-acked-seq", "renamed: use --floor N", func(string) error {
		return errors.New("renamed: use --floor N (the highest seq this depot may have used; it no longer moves the ack watermark)")
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *from == "" {
		fmt.Fprintln(stderr, "depotd restore: --from FILE is required")
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "depotd restore:", err)
		return 1
	}
	want := *sum
	if want == "" {
		if want, err = edge.ReadSumFile(*from); err != nil {
			fmt.Fprintf(stderr, "depotd restore: no checksum for %s (%v): keep FILE.sha256 beside the backup or pass --sha256\n", *from, err)
			return 1
		}
	} else if b, err := hex.DecodeString(want); err != nil || len(b) != 32 {
		fmt.Fprintln(stderr, "depotd restore: --sha256 must be 64 hex digits")
		return 2
	}
	db := filepath.Join(cfg.DataDir, dbFile)
	opts := edge.RestoreOptions{Depot: cfg.Depot.ID, Catalog: cfg.catalog(), SHA256: want, Floor: *floor, Force: *force}
	if at := os.Getenv(restorePauseEnv); at != "" {
		opts.Step = func(step string) { pauseAt(ctx, at, step, stderr) }
	}
	res, err := edge.Restore(*from, db, opts)
	if errors.Is(err, edge.ErrLocked) {
		fmt.Fprintf(stderr, "depotd restore: depotd is running on %s: stop it first (systemctl stop depotd); nothing was changed\n", cfg.DataDir)
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "depotd restore:", err)
		return 1
	}
	if res.DroppedFile != "" {
		fmt.Fprintf(stdout, "dropped %d transaction(s) the ERP never acknowledged (--force): exported to %s; post them again with depotd repost --config %s %s (the restore exception lists them)\n",
			len(res.Dropped), res.DroppedFile, *path, res.DroppedFile)
	}
	if res.Unreadable != "" {
		fmt.Fprintf(stdout, "the replaced database could not be read (%s): the floor is the one given\n", res.Unreadable)
	}
	fmt.Fprintf(stdout, "restored %s into %s: backup at seq %d (acked %d)\n", *from, db, res.Backup.LastSeq, res.Backup.AckedSeq)
	if res.GapFrom > 0 {
		fmt.Fprintf(stdout, "seqs %d..%d are skipped so that none is reused: each holds a void transaction, forwarded to the ERP; a restore exception lists what to re-enter\n", res.GapFrom, res.Floor)
	}
	fmt.Fprintf(stdout, "new transactions continue at seq %d; ERP ack watermark %d\n", res.Floor+1, res.Acked)
	if res.Previous != "" {
		fmt.Fprintf(stdout, "the replaced database was kept as %s\n", res.Previous)
	}
	return 0
}

// restorePauseEnv names a step of edge.Restore (edge.RestoreOptions.Step) at which depotd
// restore stops and waits until it is killed or interrupted: a test point, for the test
// that SIGKILLs a restore midway (TestRestoreKilledMidwayCompletesOnRerun). Unset in
// production.
const restorePauseEnv = "DEPOTD_TEST_RESTORE_PAUSE_AT"

func pauseAt(ctx context.Context, at, step string, stderr io.Writer) {
	if step != at {
		return
	}
	fmt.Fprintf(stderr, "depotd restore: paused at %s (%s)\n", step, restorePauseEnv)
	<-ctx.Done()
}
