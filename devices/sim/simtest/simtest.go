// Package simtest starts device simulators for tests in any package, with the cleanup
// every such test needs (stop the simulator, close its pty, report its error).
package simtest

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/depotd/depotd/devices/sim"
)

// StartScale runs a simulated scale of protocol on a fresh pty in tb's temp dir; the
// driver opens sc.Port().Link(). It stops when the test ends.
func StartScale(tb testing.TB, protocol string, opts sim.ScaleOptions) *sim.Scale {
	tb.Helper()
	port, err := sim.OpenPort(filepath.Join(tb.TempDir(), "scale"))
	if err != nil {
		tb.Fatal(err)
	}
	sc, err := sim.NewScale(port, protocol, opts)
	if err != nil {
		port.Close()
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sc.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		port.Close() // also unblocks a write into a full pty
		if err := <-done; err != nil && !errors.Is(err, sim.ErrClosed) {
			tb.Errorf("simulator: %v", err)
		}
	})
	return sc
}
