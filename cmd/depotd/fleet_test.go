package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/embedbroker"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startBroker(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- embedbroker.Serve(ctx, ln, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return "tcp://" + ln.Addr().String()
}

// erpSide connects a client that publishes what the ERP side of the broker would see (the
// depots' status messages); it disconnects when the test ends, before the broker stops.
func erpSide(t *testing.T, broker string) mqtt.Client {
	t.Helper()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID("erp-side"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { pub.Disconnect(50) })
	return pub
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fleet --json shows a real depot's uplink status, another depot's retained status, and
// ignores a late Will from an old session.
func TestFleetJSON(t *testing.T) {
	leakCheck(t)
	broker := startBroker(t)

	j, err := edge.Open(filepath.Join(t.TempDir(), "d.db"), edge.Options{Depot: "D1"})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	u, err := uplink.New(uplink.Config{Brokers: []string{broker}}, "D1", j, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	uctx, ucancel := context.WithCancel(context.Background())
	udone := make(chan error, 1)
	go func() { udone <- u.Run(uctx) }()
	defer func() { ucancel(); <-udone }()

	pub := erpSide(t, broker)
	pub.Publish("depots/D2/status", 1, true, `{"v":1,"depot":"D2","online":true,"session":7,"backlog":3,"oldest_pending_s":12.5,"at":"2026-11-26T10:00:00Z"}`).WaitTimeout(5 * time.Second)

	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- fleetCmd(ctx, []string{"--broker", broker, "--json"}, &stdout, &stderr) }()

	rows := func() map[string]uplink.FleetRow {
		out := map[string]uplink.FleetRow{}
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			var r uplink.FleetRow
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			out[r.Depot] = r
		}
		return out
	}
	waitUntil(t, 10*time.Second, "both depots", func() bool {
		r := rows()
		return r["D1"].Online && r["D2"].Online
	})
	if r := rows()["D2"]; r.Backlog == nil || *r.Backlog != 3 || r.Session != 7 {
		t.Fatalf("D2 row %+v", r)
	}
	// A Will of D2's session 6 arriving late must not turn D2 offline; session 7's does.
	pub.Publish("depots/D2/status", 1, true, `{"v":1,"depot":"D2","online":false,"session":6,"at":"2026-11-26T09:00:00Z"}`).WaitTimeout(5 * time.Second)
	pub.Publish("depots/D2/status", 1, true, `{"v":1,"depot":"D2","online":false,"session":7,"at":"2026-11-26T10:00:00Z"}`).WaitTimeout(5 * time.Second)
	waitUntil(t, 10*time.Second, "D2 offline", func() bool { return !rows()["D2"].Online })
	if strings.Contains(stdout.String(), `"session":6`) {
		t.Fatalf("stale Will shown:\n%s", stdout.String())
	}
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d, stderr %s", c, stderr.String())
	}
}

// Without --json and not on a terminal, each change is one table line.
func TestFleetLines(t *testing.T) {
	leakCheck(t)
	broker := startBroker(t)
	pub := erpSide(t, broker)
	pub.Publish("hq/DEPOT-9/status", 1, true, `{"v":1,"depot":"DEPOT-9","online":true,"session":2,"backlog":0,"at":"2026-11-26T10:00:00Z"}`).WaitTimeout(5 * time.Second)
	var stdout, stderr lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- fleetCmd(ctx, []string{"--broker", broker, "--prefix", "hq/"}, &stdout, &stderr) }()
	waitUntil(t, 10*time.Second, "a line for DEPOT-9", func() bool { return strings.Contains(stdout.String(), "DEPOT-9") })
	pub.Publish("hq/DEPOT-9/status", 1, true, `{"v":1,"depot":"DEPOT-9","online":true,"session":2}`).WaitTimeout(5 * time.Second)
	pub.Publish("hq/DEPOT-9/status", 1, true, `not json`).WaitTimeout(5 * time.Second)
	waitUntil(t, 10*time.Second, "the refusal on stderr", func() bool { return strings.Contains(stderr.String(), "malformed") })
	cancel()
	<-code
	// The header once (#19.7: a piped table keeps its column names), then one line per
	// accepted change (a reconnect may deliver the retained status again), none for the
	// refused payload.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "DEPOT ") || strings.Count(stdout.String(), "DEPOT ") != 1 {
		t.Fatalf("output %q, want the header once and a line per change", stdout.String())
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "DEPOT-9") || !strings.Contains(l, "yes") {
			t.Fatalf("line %q in output %q", l, stdout.String())
		}
	}
}

// #19.7: an unreachable broker is said at once ("connecting to", then the reason), and
// the command gives up with a non-zero exit instead of waiting in silence.
func TestFleetSaysWhenTheBrokerIsUnreachable(t *testing.T) {
	leakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	var stdout, stderr lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- fleetCmd(context.Background(), []string{"--broker", "tcp://" + addr, "--connect-timeout", "2s"}, &stdout, &stderr)
	}()
	waitUntil(t, 5*time.Second, "the first failure on stderr", func() bool {
		return strings.Contains(stderr.String(), "connecting to tcp://"+addr) && strings.Contains(stderr.String(), "cannot connect")
	})
	select {
	case c := <-code:
		if c != 1 || !strings.Contains(stderr.String(), "gave up connecting") || !strings.Contains(stderr.String(), "refused") {
			t.Fatalf("exit %d, stderr %q: want 1 and the reason", c, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fleet did not give up on an unreachable broker")
	}
	if strings.Count(stderr.String(), "cannot connect") != 1 {
		t.Fatalf("stderr %q: the retries repeat the failure", stderr.String())
	}
}

func TestFleetFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, 2, "--broker is required"},
		{[]string{"--broker", "http://x:1"}, 2, "--broker: scheme"},
		{[]string{"--broker", "tcp://x:1", "--prefix", "depots/#/"}, 2, "--prefix"},
		{[]string{"--broker", "tcp://x:1", "extra"}, 2, "unexpected argument"},
		{[]string{"-h"}, 0, "Usage"},
		{[]string{"--broker", "tcp://x:1", "--connect-timeout", "0s"}, 2, "--connect-timeout"},
	} {
		var out, errb lockedBuffer
		if c := fleetCmd(context.Background(), tc.args, &out, &errb); c != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d stderr %q; want %d and %q", tc.args, c, errb.String(), tc.code, tc.msg)
		}
	}
}

// leakCheck verifies at the very end of the test (after every other cleanup, the broker's
// included) that no goroutine the test started is left.
func leakCheck(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}
