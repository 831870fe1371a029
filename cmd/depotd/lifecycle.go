package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sync/errgroup"
)

// systemd integration (Type=notify) and the shutdown deadline.
//
// READY=1 is sent once the journal is open, the console listens and every part has been
// started; WATCHDOG=1 every half WatchdogSec while the journal answers, so a wedged depotd
// is restarted by systemd; STOPPING=1 when shutdown begins. go-systemd writes to
// $NOTIFY_SOCKET (a unixgram socket) without cgo; outside systemd every call is a no-op.

// Shutdown order: on SIGTERM the console, devices, stations, pruner and watchdog stop
// together (they make or serve transactions); then the uplink, still connected, gets up to
// uplinkDrain for the ERP to acknowledge what they committed last, is cancelled, publishes
// the retained online:false and disconnects; the journal closes last.
//
// shutdownTimeout bounds all of it. The unit's TimeoutStopSec (30s) leaves room above it
// for the journal's close.
const shutdownTimeout = 20 * time.Second

func sdNotify(log *slog.Logger, state string) {
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify failed", "state", state, "err", err)
	}
}

// runWatchdog pings systemd's watchdog at half its interval while healthy() passes. Without
// WATCHDOG_USEC (not under systemd, or no WatchdogSec) it waits for ctx and returns.
func runWatchdog(ctx context.Context, log *slog.Logger, healthy func() error) error {
	interval, err := sddaemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("systemd watchdog settings unreadable", "err", err)
	}
	if interval <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := healthy(); err != nil {
			// Skipping pings lets systemd restart a depotd whose journal stopped answering.
			if !failing {
				log.Error("unhealthy: withholding the systemd watchdog ping", "err", err)
			}
			failing = true
			continue
		}
		failing = false
		sdNotify(log, "WATCHDOG=1")
	}
}

// waitParts waits for the errgroup. Once shutdown starts (ctx cancelled or a part failed)
// it tells systemd and allows the parts timeout to finish; past that it returns so that
// the journal is still closed cleanly (the stragglers then see ErrClosed). It returns when
// shutdown began, from which the rest of shutdown is timed.
func waitParts(log *slog.Logger, g *errgroup.Group, gctx context.Context, timeout time.Duration) (time.Time, error) {
	done := make(chan error, 1)
	go func() { done <- g.Wait() }()
	select {
	case err := <-done:
		return time.Now(), err
	case <-gctx.Done():
	}
	began := time.Now()
	sdNotify(log, "STOPPING=1")
	log.Info("shutting down", "deadline", timeout)
	select {
	case err := <-done:
		return began, err
	case <-time.After(timeout):
		return began, fmt.Errorf("shutdown: parts still running after %s; closing the journal anyway", timeout)
	}
}

// uplinkDrain bounds how long shutdown waits for the ERP to acknowledge what the stations
// committed last; the rest stays in the journal and is sent after the restart.
const uplinkDrain = 3 * time.Second

// lastPart runs a part that must outlive the errgroup's parts (the uplink), in its own
// context, cancelled by stop.
type lastPart struct {
	cancel context.CancelFunc
	exited chan struct{} // closed when fn returned; err is set before
	err    error
}

// startLastPart runs fn; if fn fails, onFail is called (to stop the other parts).
func startLastPart(fn func(ctx context.Context) error, onFail func()) *lastPart {
	ctx, cancel := context.WithCancel(context.Background())
	p := &lastPart{cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(p.exited)
		p.err = fn(ctx)
		if p.err != nil && ctx.Err() == nil {
			onFail()
		}
	}()
	return p
}

func (p *lastPart) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop cancels the part and waits for it until the deadline.
func (p *lastPart) stop(deadline time.Time) error {
	p.cancel()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(time.Until(deadline)):
		return fmt.Errorf("shutdown: the uplink did not stop within %s", shutdownTimeout)
	}
}

// drainUplink gives a connected uplink up to uplinkDrain (within the shutdown deadline)
// to have everything acknowledged by the ERP before it is told to stop. A disconnected
// one has nothing to drain through.
func drainUplink(log *slog.Logger, positions func() (last, acked uint64), online func() bool, deadline time.Time) {
	until := time.Now().Add(uplinkDrain)
	if deadline.Before(until) {
		until = deadline
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		last, acked := positions()
		if acked >= last || !online() {
			return
		}
		if time.Now().After(until) {
			log.Info("stopping the uplink with a backlog; it is sent after the restart", "backlog", last-acked)
			return
		}
		<-t.C
	}
}
