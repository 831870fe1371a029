package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestShippedConfigsAreValid(t *testing.T) {
	for name, data := range map[string][]byte{"depotd.yaml": firmwareconfig.DefaultConfig, "demo.yaml": firmwareconfig.DemoConfig} {
		if _, err := parseConfig(bytes.NewReader(data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// #19.8: one pass reports every problem (unknown keys, types, values, meaning) with its
// key path and in the config's words (onepass: a port out of range, a size and a duration
// that name their keys, no YAML tags or Go types), and durations accept days.
func TestConfigCheckReportsEveryProblemWithItsKey(t *testing.T) {
	for _, name := range []string{"bad", "bad2", "onepass"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "config", name+".yaml")
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"config", "check", path}, nil, &out, &errOut)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, errOut.String())
			}
			golden := filepath.Join("testdata", "config", name+".golden")
			if *update {
				os.WriteFile(golden, errOut.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if errOut.String() != string(want) {
				t.Fatalf("got:\n%s\nwant:\n%s", errOut.String(), want)
			}
		})
	}
}

func TestConfigDurationsAcceptDays(t *testing.T) {
	cfg, err := parseConfig(strings.NewReader("depot: {id: D1}\njournal: {retention: 90d}\nconsole: {session_ttl: 1d12h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Journal.Retention != 90*24*time.Hour || cfg.Console.SessionTTL != 36*time.Hour {
		t.Fatalf("retention %s, session_ttl %s", cfg.Journal.Retention, cfg.Console.SessionTTL)
	}
}

func TestConfigCheckAcceptsDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("depot: {id: D1}\n"), 0o600)
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"config", "check", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	cfg, err := loadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/var/lib/depotd" || cfg.Console.Listen != ":8080" || cfg.Console.MaxBodyBytes != 1<<20 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestHelpListsCommands(t *testing.T) {
	var out bytes.Buffer
	if code := run(t.Context(), []string{"help"}, nil, &out, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, c := range []string{"run", "demo", "config", "version", "help", "db"} {
		if !strings.Contains(out.String(), "  "+c+" ") {
			t.Errorf("help does not list %s:\n%s", c, out.String())
		}
	}
	if code := run(t.Context(), []string{"frobnicate"}, nil, &out, &out); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}
