package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/console"
	"golang.org/x/sync/errgroup"
)

// daemon is depotd's running state: what run and demo start.
type daemon struct {
	cfg     *Config
	log     *slog.Logger
	journal *edge.Journal
	server  *console.Server
	ln      net.Listener
}

// dbFile is the journal's file name inside data_dir.
const dbFile = "depotd.db"

// openDaemon opens the journal and binds the console's listener, so that every start-up
// error (data dir not writable, database locked, port taken) is reported before anything runs.
func openDaemon(cfg *Config, log *slog.Logger) (*daemon, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	if err := checkWritable(cfg.DataDir); err != nil {
		return nil, err
	}
	cat, err := cfg.catalog()
	if err != nil {
		return nil, err
	}
	j, err := edge.Open(filepath.Join(cfg.DataDir, dbFile), edge.Options{
		Depot: cfg.Depot.ID, Catalog: cat, Logger: log.With("component", "journal"),
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Console.Listen)
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("console listen %s: %w", cfg.Console.Listen, err)
	}
	d := &daemon{cfg: cfg, log: log, journal: j, ln: ln}
	d.server = console.New(cfg.Console, j, console.Options{
		Version: versionString(), Logger: log.With("component", "console"), Started: time.Now(),
	})
	return d, nil
}

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".depotd-write-test-*")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// run runs every part under one errgroup until ctx is done, then shuts down in order:
// the console stops taking requests, and the journal closes last.
func (d *daemon) run(ctx context.Context) error {
	st, err := d.journal.Status()
	if err != nil {
		return err
	}
	d.log.Info("depotd started", "depot", d.cfg.Depot.ID, "version", versionString(),
		"data_dir", d.cfg.DataDir, "last_seq", st.LastSeq, "backlog", st.Backlog)
	d.log.Info("console listening", "addr", d.ln.Addr().String())
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.server.Serve(gctx, d.ln) })
	err = g.Wait()
	if cerr := d.journal.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	d.log.Info("depotd stopped")
	return err
}
