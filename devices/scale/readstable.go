package scale

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/depotd/depotd/devices"
)

// ReadStable runs the driver for cfg until it delivers a usable weight (stable and in
// range) and returns it. It fails when the driver fails (port missing, scale silent for
// cfg.Timeout, ...), or with ErrNoStable, naming the last state seen, when ctx ends first.
// It is what `depotd devices probe --kind scale` runs.
func ReadStable(ctx context.Context, cfg devices.Config, log *slog.Logger) (devices.Weight, error) {
	drv, err := New(cfg, log)
	if err != nil {
		return devices.Weight{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	sink := &stableSink{found: make(chan devices.Weight, 1)}
	done := make(chan error, 1)
	go func() { done <- drv.Run(runCtx, sink) }()
	select {
	case w := <-sink.found:
		cancel()
		<-done
		return w, nil
	case err := <-done:
		if err == nil { // ctx ended and Run returned first
			return devices.Weight{}, sink.noStable(ctx.Err())
		}
		return devices.Weight{}, err
	}
}

type stableSink struct {
	found chan devices.Weight
	mu    sync.Mutex
	last  *devices.Weight
}

func (s *stableSink) Scan(devices.Scan)         {}
func (s *stableSink) BadScan(devices.BadScan)   {}
func (s *stableSink) State(devices.DeviceState) {}
func (s *stableSink) Weight(w devices.Weight) {
	s.mu.Lock()
	s.last = &w
	s.mu.Unlock()
	if w.Usable() {
		select {
		case s.found <- w:
		default:
		}
	}
}

func (s *stableSink) noStable(cause error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return fmt.Errorf("%w: the scale answered nothing usable (%v)", ErrNoStable, cause)
	}
	return fmt.Errorf("%w: last reading %s %s, status %s (%v)", ErrNoStable, s.last.Value, s.last.Unit, s.last.Status, cause)
}
