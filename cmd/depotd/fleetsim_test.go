package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// `depotd fleet sim` with the ERP simulator prints progress lines and a report in which
// nothing is lost, and exits 0.
func TestFleetSimPrintsProgressAndAReportAndExitsZeroWhenNothingIsLost(t *testing.T) {
	broker := startBroker(t)
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"fleet", "sim", "--broker", broker, "--depots", "5", "--rate", "10",
		"--duration", "2s", "--erpsim", "--progress", "500ms", "--outage-every", "1s", "--outage-for", "200ms", "--dir", t.TempDir()}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"posted=", "online=", "depots:             5 at 10 tx/s each", "lost:               0", "e2e latency:", "per depot", "ERP applied:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// Bad flags are refused with the problem named and exit status 2.
func TestFleetSimRefusesBadFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"fleet", "sim", "--broker", "tcp://127.0.0.1:1", "--depots", "0"}, nil, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "depots must be at least 1") {
		t.Fatalf("stderr: %s", errOut.String())
	}
}
