package erpcore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/depotd/depotd/uplink/erpcore"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// NATS gives a session 65535 unacknowledged QoS 1 deliveries, of which each subscription
// reserves max_ack_pending (default 1024): a connector serving 70 depots, one subscription
// each, has 7 of them refused. It must say so, naming how to fix it, rather than leave
// those depots unserved without a word.
func TestTheConnectorLogsTheDepotsWhoseSubscriptionTheBrokerRefused(t *testing.T) {
	cl := brokertest.StartNATSCluster(t, 1)
	var ids []string
	for i := range 70 {
		ids = append(ids, fmt.Sprintf("B%02d", i))
	}
	logs := &lockedBuf{}
	core, err := erpcore.New(erpcore.Config{Brokers: cl.URLs(), ClientID: "erp-budget", Depots: ids, Applier: newLedger(),
		Log: newTextLog(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- core.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "erp mqtt online") {
		if time.Now().After(deadline) {
			t.Fatalf("connector never subscribed; log:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), `level=ERROR msg="erp mqtt subscriptions refused by the broker`) || !strings.Contains(logs.String(), "refused=7 filters=140") {
		t.Fatalf("no error naming the 7 refused subscriptions; log:\n%s", logs.String())
	}
}

func newTextLog(w *lockedBuf) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
