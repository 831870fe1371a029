package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/depotd/depotd/devices/sim"
)

// TestDevicesWatchPrintsEveryScanAndStateChangeAsAJSONLine watches a simulated serial
// scanner on a real pty through the supervisor: connected, a scan (GS kept), unplugged,
// connected again after the replug, and exit 0 when interrupted.
func TestDevicesWatchPrintsEveryScanAndStateChangeAsAJSONLine(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	sc, err := sim.NewScanner(filepath.Join(dir, "usb-Honeywell_3320g-if00"), sim.ScannerFraming{Suffix: "\r\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	cfg := filepath.Join(dir, "depotd.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("depot:\n  id: watch\ndevices:\n  - name: dock\n    kind: scanner\n    port: %s\n", sc.Link())), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, []string{"devices", "watch", "--config", cfg}, strings.NewReader(""), &stdout, &stderr)
	}()

	waitText(t, &stdout, `"state":"connected"`)
	if err := sc.Scan("]C1", "0109501101530003\x1d10LOT7"); err != nil {
		t.Fatal(err)
	}
	waitText(t, &stdout, `"event":"scan"`)
	if err := sc.Unplug(); err != nil {
		t.Fatal(err)
	}
	waitText(t, &stdout, `"state":"disconnected"`)
	if err := sc.Replug(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(stdout.String(), `"state":"connected"`) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not connected again after the replug: %s", stdout.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop when interrupted")
	}
	var scans []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if e["event"] == "scan" {
			scans = append(scans, e)
		}
	}
	if len(scans) != 1 || scans[0]["aim"] != "]C1" || scans[0]["data"] != "0109501101530003\x1d10LOT7" || scans[0]["device"] != "dock" {
		t.Fatalf("scans %v, want the one GS1-128 scan of dock", scans)
	}
}

// TestDevicesWatchRefusesAConfigWithoutDevices with a clear message instead of waiting on
// nothing.
func TestDevicesWatchRefusesAConfigWithoutDevices(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "depotd.yaml")
	if err := os.WriteFile(cfg, []byte("depot:\n  id: watch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	if c := run(context.Background(), []string{"devices", "watch", "--config", cfg}, strings.NewReader(""), &stdout, &stderr); c != 1 {
		t.Fatalf("exit %d, want 1", c)
	}
	if !strings.Contains(stderr.String(), "has no devices") {
		t.Fatalf("stderr %q", stderr.String())
	}
}
