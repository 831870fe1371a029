// Package embedbroker runs an embedded MQTT broker (mochi-mqtt/server/v2) on a listener
// the caller created, for `depotd demo` and fast tests. It allows every client: it is for
// a loopback or demo network, never a production broker.
//
// Concurrency: Serve owns every goroutine the broker starts and returns after they stop.
package embedbroker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Serve runs a broker that accepts MQTT 3.1.1/5 clients on ln until ctx ends, then closes
// ln and every client and returns nil. log may be nil.
func Serve(ctx context.Context, ln net.Listener, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	// depotd keeps up to uplink.inflight (default 10000) publishes unacknowledged, and the
	// ERP simulator is one subscriber for all of them: mochi's defaults (8192) would drop
	// messages to it under a drain.
	caps.MaximumClientWritesPending = 64 * 1024
	caps.MaximumInflight = 65535
	srv := mqtt.New(&mqtt.Options{InlineClient: false, Logger: log, Capabilities: caps})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.AddListener(&netListener{ln: ln, id: "depotd"}); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		return fmt.Errorf("embedded broker: %w", err)
	}
	<-ctx.Done()
	return srv.Close()
}

// netListener adapts a net.Listener the caller opened to mochi's listener interface (mochi's
// own TCP listener insists on opening the address itself, so tests could not bind port 0).
type netListener struct {
	ln   net.Listener
	id   string
	once sync.Once
	wg   sync.WaitGroup
}

func (l *netListener) Init(*slog.Logger) error { return nil }
func (l *netListener) ID() string              { return l.id }
func (l *netListener) Address() string         { return l.ln.Addr().String() }
func (l *netListener) Protocol() string        { return "tcp" }

func (l *netListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			_ = establish(l.id, conn) // mochi logs client errors itself
		}()
	}
}

func (l *netListener) Close(closeClients listeners.CloseFn) {
	l.once.Do(func() {
		closeClients(l.id)
		l.ln.Close()
	})
	l.wg.Wait()
}
