package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartupErrorsAreClear runs the real binary where it cannot start: each case must exit
// non-zero at once with a message that says what is wrong.
func TestStartupErrorsAreClear(t *testing.T) {
	bin := depotdBinary(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(name, dataDir string) string {
		p := filepath.Join(dir, name+".yaml")
		os.WriteFile(p, []byte(fmt.Sprintf("depot: {id: D1}\ndata_dir: %s\nconsole: {listen: \"127.0.0.1:0\"}\n", dataDir)), 0o600)
		return p
	}
	shared := filepath.Join(dir, "shared")
	// A running depotd holds the database of the "locked" case.
	startDaemon(t, bin, cfg("holder", shared))

	cases := []struct {
		name, config, want string
	}{
		{"data dir under a file", cfg("notdir", filepath.Join(blocker, "data")), "data dir"},
		{"database locked by another depotd", cfg("locked", shared), "locked by another process"},
		{"config missing", filepath.Join(dir, "missing.yaml"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, "run", "--config", c.config)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("depotd started:\n%s", out)
			}
			if code := cmd.ProcessState.ExitCode(); code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Fatalf("message does not say %q:\n%s", c.want, out)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Fatalf("took %v to give up", d)
			}
		})
	}
}
