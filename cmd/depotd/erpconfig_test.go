package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

// writeKey writes an API key file with the mode the connector demands.
func writeKey(t *testing.T, key string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "odoo-api-key")
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestShippedERPConfigIsValid(t *testing.T) {
	// The shipped file names /etc/depotd/odoo-api-key; everything else is checked as shipped.
	data := strings.Replace(string(firmwareconfig.ERPConfig), "/etc/depotd/odoo-api-key", writeKey(t, "k"), 1)
	cfg, err := parseERPConfig(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Depots[0]
	if d.ID != "DEPOT-01" || d.Warehouse != "WH" || d.Location("Van-1") != "WH/Vans/Van-1" ||
		d.StateLocation(edge.Quarantine) != "WH/Quarantine" {
		t.Fatalf("shipped depot mapping: %+v", d)
	}
}

func TestERPConfigCheckReportsEveryProblemWithItsKey(t *testing.T) {
	for _, name := range []string{"bad-keys", "bad-values"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", "erpconfig", name+".yaml")
			var out, errOut bytes.Buffer
			code := run(t.Context(), []string{"erp", "config", "check", "--config", path}, nil, &out, &errOut)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", code, errOut.String())
			}
			golden := filepath.Join("testdata", "erpconfig", name+".golden")
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

func TestERPConfigDefaultsAreFilledAndDocumented(t *testing.T) {
	path := filepath.Join(t.TempDir(), "erp.yaml")
	os.WriteFile(path, []byte(`
mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: "http://127.0.0.1:8069", database: depot, api_key_file: "`+writeKey(t, "k")+`"}
depots: [{id: D1, warehouse: WH}]
`), 0o600)
	var out, errOut bytes.Buffer
	if code := run(t.Context(), []string{"erp", "config", "check", "--config", path}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.HasSuffix(out.String(), ": ok\n") {
		t.Fatalf("stdout %q", out.String())
	}
	cfg, err := loadERPConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.ClientID != "depotd-erp" || cfg.MQTT.TopicPrefix != "depots/{depot_id}/" || cfg.MQTT.KeepAlive != 30*time.Second ||
		cfg.Odoo.Timeout != 30*time.Second || cfg.Odoo.PostTimeout != 120*time.Second || cfg.Odoo.RetryMax != 60*time.Second || cfg.Odoo.Batch != 20 ||
		cfg.StateDir != "/var/lib/depotd-erp" || cfg.Downlink.Poll != 30*time.Second || cfg.Downlink.SnapshotEvery != 100 ||
		cfg.Downlink.SnapshotInterval != 15*time.Minute || cfg.HTTP.Listen != "127.0.0.1:9465" {
		t.Fatalf("defaults: %+v", cfg)
	}
	// Every default is also what the shipped, documented file says.
	shipped := string(firmwareconfig.ERPConfig)
	for _, line := range []string{"client_id: depotd-erp", `topic_prefix: "depots/{depot_id}/"`, "keepalive: 30s",
		"timeout: 30s", "post_timeout: 120s", "retry_max: 60s", "batch: 20", "state_dir: /var/lib/depotd-erp",
		"poll: 30s", "snapshot_every: 100", "snapshot_interval: 15m", `listen: "127.0.0.1:9465"`} {
		if !strings.Contains(shipped, line) {
			t.Errorf("firmware-config/erp.yaml does not show the default %q", line)
		}
	}
	d := cfg.Depots[0]
	for _, tc := range []struct{ got, want string }{
		{d.Location("WH/Stock"), "WH/Stock"},
		{d.Location("Input"), "WH/Input"},
		{d.StateLocation(edge.Quarantine), "WH/Quarantine"},
		{d.StateLocation(edge.Damaged), "WH/Damaged"},
		{d.StateLocation(edge.Available), ""},
		{d.StateLocation(edge.InTransit), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("default mapping %q, want %q", tc.got, tc.want)
		}
	}
}

func TestERPConfigRefusesAnAPIKeyFileOthersCanRead(t *testing.T) {
	key := writeKey(t, "k")
	os.Chmod(key, 0o644)
	empty := writeKey(t, "")
	for _, tc := range []struct{ file, want string }{
		{key, "readable by group or others (mode 0644): chmod 600 it"},
		{empty, "is empty"},
	} {
		_, err := parseERPConfig(strings.NewReader(`
mqtt: {brokers: ["tcp://127.0.0.1:1883"]}
odoo: {url: "https://erp.example.com", database: depot, api_key_file: "` + tc.file + `"}
depots: [{id: D1, warehouse: WH}]
`))
		if err == nil || !strings.Contains(err.Error(), "odoo.api_key_file: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want odoo.api_key_file: ...%s", tc.file, err, tc.want)
		}
	}
}
