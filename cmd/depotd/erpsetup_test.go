package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// erpConfigFor writes an erp.yaml for the real Odoo in env serving one depot.
func erpConfigFor(t *testing.T, env odootest.Env, depot, warehouse string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "erp.yaml")
	cfg := fmt.Sprintf(`mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: %q, database: %q, api_key_file: %q}
depots: [{id: %q, warehouse: %q}]
`, env.URL, env.DB, writeKey(t, env.APIKey), depot, warehouse)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestERPSetupSaysWhatItDidAndTheSecondRunSaysNothingToChange(t *testing.T) {
	env := odootest.Need(t)
	wh := odootest.NewWarehouse(t, env.Client(t))
	path := erpConfigFor(t, env, odootest.Unique("D"), wh)

	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"erp", "setup", "--config", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	first := out.String()
	t.Logf("first run:\n%s", first)
	for _, want := range []string{"ok       Odoo 19.0", "changed  depot ", "created the quarantine location " + wh + "/Quarantine", "change(s) made"} {
		if !strings.Contains(first, want) {
			t.Errorf("first run does not say %q", want)
		}
	}

	out.Reset()
	errOut.Reset()
	if code := run(t.Context(), []string{"erp", "setup", "--config", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("second run: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	second := out.String()
	t.Logf("second run:\n%s", second)
	if strings.Contains(second, "changed  ") || !strings.Contains(second, "nothing to change") {
		t.Errorf("second run changed something or did not say it changed nothing:\n%s", second)
	}
	if strings.Count(first, "\n") != strings.Count(second, "\n") {
		t.Errorf("second run reports %d lines, the first %d: every check says ok", strings.Count(second, "\n"), strings.Count(first, "\n"))
	}
}

func TestERPSetupRefusesAMissingWarehouseClearly(t *testing.T) {
	env := odootest.Need(t)
	path := erpConfigFor(t, env, "D1", "NOWH")
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"erp", "setup", "--config", path}, nil, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), `depotd erp setup: refused: depot D1: Odoo has 0 warehouses with the short name "NOWH"`) {
		t.Errorf("stderr: %s", errOut.String())
	}
}
