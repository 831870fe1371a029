package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/devices/sim"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/embedbroker"
	"github.com/shopspring/decimal"
)

func runDoctorCmd(t *testing.T, cfgPath string, extra ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"doctor", "--config", cfgPath, "--device-timeout", "3s"}, extra...), nil, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// TestDoctorOnANeverRunGateway: nothing created yet, everything passes and says so.
func TestDoctorOnANeverRunGateway(t *testing.T) {
	dir := t.TempDir()
	cfgPath := writeOpsConfig(t, dir, "")
	code, out := runDoctorCmd(t, cfgPath)
	if code != 0 {
		t.Fatalf("doctor exit %d:\n%s", code, out)
	}
	for _, want := range []string{"PASS config", "depotd creates it on first start", "will be created on first start", "PASS clock", "all checks passed"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatal("doctor created the data dir")
	}
}

// TestDoctorFindings: each broken thing fails with its fix, and working devices pass
// (a simulated MT-SICS scale on a real pseudo-terminal answers; a scanner pty opens).
func TestDoctorFindings(t *testing.T) {
	dir := t.TempDir()
	devDir := filepath.Join(dir, "dev")
	os.Mkdir(devDir, 0o755)
	scalePort, err := sim.OpenPort(filepath.Join(devDir, "scale1"))
	if err != nil {
		t.Fatal(err)
	}
	defer scalePort.Close()
	sc, err := sim.NewScale(scalePort, sim.ScaleMTSICS, sim.ScaleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sc.SetLoad(decimal.RequireFromString("1.250"))
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sc.Run(ctx) }()
	// The simulator's reader ends only when its port closes.
	defer func() { cancel(); scalePort.Close(); <-simDone }()
	scanPort, err := sim.OpenPort(filepath.Join(devDir, "scanner1"))
	if err != nil {
		t.Fatal(err)
	}
	defer scanPort.Close()

	devicesYAML := `devices:
  - {name: scale1, kind: scale, port: ` + filepath.Join(devDir, "scale1") + `, protocol: mt-sics, poll_interval: 200ms}
  - {name: scanner1, kind: scanner, port: ` + filepath.Join(devDir, "scanner1") + `, suffix: cr}
  - {name: gone, kind: scanner, port: ` + filepath.Join(devDir, "absent") + `, suffix: cr}
`
	cfgPath := writeOpsConfig(t, dir, devicesYAML)
	os.Chmod(cfgPath, 0o644)
	// A database from a newer depotd.
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o750)
	copyTestFile(t, "../../edge/testdata/schema/schema-v2.db", filepath.Join(data, dbFile))
	code, out := runDoctorCmd(t, cfgPath)
	t.Logf("doctor:\n%s", out)
	if code != 1 {
		t.Fatalf("doctor exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"FAIL config permissions", "chmod 0640",
		"PASS device scale1", "answers: 1.25",
		"PASS device scanner1", "opened and listening",
		"FAIL device gone", "udev rules",
		"FAIL database", `belongs to depot "SCHEMA"`,
		"PASS broker", "standalone",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

func copyTestFile(t *testing.T, src, dst string) {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDoctorBroker connects to a real (embedded mochi) broker, and fails with a fix for a
// port where nothing listens and for a world-readable key file.
func TestDoctorBroker(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- embedbroker.Serve(ctx, ln, slog.New(slog.DiscardHandler)) }()
	defer func() { cancel(); <-done }()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	key := filepath.Join(t.TempDir(), "client.key")
	os.WriteFile(key, []byte("not really a key"), 0o644)
	env := &doctorEnv{cfg: &Config{Depot: DepotConfig{ID: "D1"}}, brokerTimeout: 3 * time.Second}
	cases := []struct {
		name string
		uc   *uplink.Config
		want []string
	}{
		{"no uplink", nil, []string{"PASS broker", "standalone"}},
		{"reachable", &uplink.Config{Brokers: []string{"tcp://" + ln.Addr().String()}}, []string{"PASS broker", "accepts an MQTT connection"}},
		{"nothing listening", &uplink.Config{Brokers: []string{"tcp://" + deadAddr}}, []string{"FAIL broker", "fix: check the URL"}},
		{"key readable by all", &uplink.Config{Brokers: []string{"tcp://" + ln.Addr().String()}, TLS: uplink.TLSConfig{KeyFile: key, CertFile: key}},
			[]string{"FAIL uplink.tls.key_file", "chmod 0600"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			for _, f := range checkBroker(env, c.uc) {
				fmt.Fprintf(&b, "%s %s %s fix: %s\n", f.Status, f.Check, f.Detail, f.Fix)
			}
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Fatalf("findings lack %q:\n%s", w, b.String())
				}
			}
		})
	}
}
