package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestConfigCheckReportsEveryProblemWithItsKey(t *testing.T) {
	for _, name := range []string{"bad", "bad2"} {
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
