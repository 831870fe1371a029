package firmwareconfig_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	firmwareconfig "github.com/depotd/depotd/firmware-config"
)

// unitFile parses a systemd unit into section → key → values (keys may repeat).
func unitFile(t *testing.T, raw []byte) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	sec := ""
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			sec = l[1 : len(l)-1]
			out[sec] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || sec == "" || strings.TrimSpace(k) != k {
				t.Fatalf("depotd.service:%d: not `Key=value` inside a section: %q", n, l)
			}
			out[sec][k] = append(out[sec][k], v)
		}
	}
	return out
}

func TestUnit(t *testing.T) {
	u := unitFile(t, firmwareconfig.Unit)
	want := []struct{ sec, key, val string }{
		{"Service", "Type", "notify"},
		{"Service", "Restart", "always"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "ReadWritePaths", "/var/lib/depotd"},
		{"Service", "StateDirectory", "depotd"},
		{"Service", "User", "depotd"},
		{"Service", "SupplementaryGroups", "dialout input"},
		{"Service", "DevicePolicy", "closed"},
		{"Service", "DeviceAllow", "char-ttyUSB rw"},
		{"Service", "DeviceAllow", "char-ttyACM rw"},
		{"Service", "DeviceAllow", "char-input rw"},
		{"Service", "DeviceAllow", "char-hidraw rw"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Unit", "StartLimitIntervalSec", "0"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, w := range want {
		found := false
		for _, v := range u[w.sec][w.key] {
			found = found || v == w.val
		}
		if !found {
			t.Errorf("[%s] %s=%s missing (have %q)", w.sec, w.key, w.val, u[w.sec][w.key])
		}
	}
	if ws := u["Service"]["WatchdogSec"]; len(ws) != 1 || ws[0] == "0" {
		t.Errorf("WatchdogSec=%q: depotd pings the watchdog, the unit must enable it", ws)
	}
	exec := u["Service"]["ExecStart"]
	if len(exec) != 1 || !strings.Contains(exec[0], " run --config /etc/depotd/depotd.yaml") {
		t.Errorf("ExecStart=%q", exec)
	}
	// depotd's own shutdown deadline (20s) must fit inside TimeoutStopSec.
	if ts := u["Service"]["TimeoutStopSec"]; len(ts) != 1 || ts[0] != "30s" {
		t.Errorf("TimeoutStopSec=%q, want 30s (depotd stops within 20s)", ts)
	}
}

func TestERPUnitRunsTheConnectorAsANotifyService(t *testing.T) {
	u := unitFile(t, firmwareconfig.ERPUnit)
	for _, kv := range []struct{ sec, key, want string }{
		{"Service", "Type", "notify"},
		{"Service", "ExecStart", "/usr/local/bin/depotd erp --config /etc/depotd/erp.yaml --log-format json"},
		{"Service", "KillSignal", "SIGTERM"},
		{"Service", "TimeoutStopSec", "45s"},
		{"Service", "Restart", "always"},
		{"Service", "User", "depotd"},
		{"Service", "StateDirectory", "depotd-erp"},
		{"Unit", "StartLimitIntervalSec", "0"},
		{"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u[kv.sec][kv.key]; len(got) != 1 || got[0] != kv.want {
			t.Errorf("[%s] %s = %q, want %q", kv.sec, kv.key, got, kv.want)
		}
	}
}

// TestFleetUnitRunsThePageWithItsConfigAndHardening checks the fleet page's unit: the
// command and config path the docs give, restarts, the depotd user and no privileges.
func TestFleetUnitRunsThePageWithItsConfigAndHardening(t *testing.T) {
	u := unitFile(t, firmwareconfig.FleetUnit)
	exec := u["Service"]["ExecStart"]
	if len(exec) != 1 || !strings.Contains(exec[0], "/depotd fleet --broker ") || !strings.Contains(exec[0], " --config /etc/depotd/fleet.yaml") {
		t.Errorf("ExecStart=%q", exec)
	}
	for _, w := range []struct{ sec, key, val string }{
		{"Service", "Restart", "always"}, {"Service", "User", "depotd"}, {"Service", "NoNewPrivileges", "yes"},
		{"Service", "ProtectSystem", "strict"}, {"Service", "CapabilityBoundingSet", ""}, {"Service", "KillSignal", "SIGTERM"},
		{"Unit", "StartLimitIntervalSec", "0"}, {"Install", "WantedBy", "multi-user.target"},
	} {
		if got := u[w.sec][w.key]; len(got) != 1 || got[0] != w.val {
			t.Errorf("[%s] %s=%q, want %q", w.sec, w.key, got, w.val)
		}
	}
}

// TestUnitVerifies runs systemd-analyze verify where it exists: unknown keys or sections
// fail. A missing /usr/local/bin/depotd is expected on a build machine.
func TestUnitVerifies(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed; TestUnit checks the keys")
	}
	dir := t.TempDir()
	for name, unit := range map[string][]byte{"depotd.service": firmwareconfig.Unit, "depotd-erp.service": firmwareconfig.ERPUnit,
		"depotd-fleet.service": firmwareconfig.FleetUnit} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, unit, 0o644); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("systemd-analyze", "verify", p).CombinedOutput()
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l == "" || strings.Contains(l, "is not executable") || strings.Contains(l, "/usr/local/bin/depotd") {
				continue
			}
			if strings.Contains(l, name) {
				t.Errorf("systemd-analyze: %s", l)
			}
		}
	}
}

var (
	udevToken = regexp.MustCompile(`^([A-Z_]+)(\{[^}]+\})?(==|!=|\+=|-=|:=|=)"([^"]*)"$`)
	udevKeys  = map[string]bool{"ACTION": true, "SUBSYSTEM": true, "SUBSYSTEMS": true, "KERNEL": true, "ATTRS": true,
		"ENV": true, "IMPORT": true, "GROUP": true, "MODE": true, "SYMLINK": true, "GOTO": true, "LABEL": true, "TAG": true}
	vendorID = regexp.MustCompile(`^[0-9a-f]{4}$`)
)

// TestUdevRules parses every rule: known keys and operators, quoted values, lowercase
// 4-digit vendor ids, GOTO targets that exist, and for every rule that grants access a
// depotd group, mode 0660 and a /dev/depotd/ symlink.
func TestUdevRules(t *testing.T) {
	labels, gotos := map[string]bool{}, map[string]bool{}
	grants := 0
	kinds := map[string]bool{}
	for n, l := range strings.Split(string(firmwareconfig.UdevRules), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		fields := map[string]string{}
		for _, tok := range strings.Split(l, ", ") {
			m := udevToken.FindStringSubmatch(tok)
			if m == nil {
				t.Fatalf("99-depotd.rules:%d: cannot parse %q", n+1, tok)
			}
			if !udevKeys[m[1]] {
				t.Fatalf("99-depotd.rules:%d: unknown key %s", n+1, m[1])
			}
			fields[m[1]+m[2]] = m[4]
			switch m[1] {
			case "LABEL":
				labels[m[4]] = true
			case "GOTO":
				gotos[m[4]] = true
			}
		}
		if v, ok := fields["ATTRS{idVendor}"]; ok {
			for _, id := range strings.Split(v, "|") {
				if !vendorID.MatchString(id) {
					t.Errorf("99-depotd.rules:%d: vendor id %q is not 4 lowercase hex digits", n+1, id)
				}
			}
		}
		if g, ok := fields["GROUP"]; ok {
			grants++
			kinds[fields["SUBSYSTEM"]] = true
			if g != "dialout" && g != "input" {
				t.Errorf("99-depotd.rules:%d: GROUP=%q, the unit only has dialout and input", n+1, g)
			}
			if fields["MODE"] != "0660" {
				t.Errorf("99-depotd.rules:%d: MODE=%q, want 0660", n+1, fields["MODE"])
			}
			if !strings.HasPrefix(fields["SYMLINK"], "depotd/") {
				t.Errorf("99-depotd.rules:%d: no /dev/depotd/ symlink", n+1)
			}
		}
	}
	for g := range gotos {
		if !labels[g] {
			t.Errorf("GOTO %q has no LABEL", g)
		}
	}
	for _, k := range []string{"tty", "input", "hidraw"} {
		if !kinds[k] {
			t.Errorf("no rule grants access to %s devices", k)
		}
	}
	if grants < 3 {
		t.Errorf("%d rules grant access", grants)
	}
}

// TestInstallGuideCoversTheShippedFiles: the guide names every file it installs and every
// command an installer needs.
func TestInstallGuideCoversTheShippedFiles(t *testing.T) {
	g := string(firmwareconfig.InstallGuide)
	for _, s := range []string{"depotd.service", "99-depotd.rules", "depotd.yaml", "GOARCH=arm64", "CGO_ENABLED=0",
		"udevadm control --reload", "systemctl enable --now depotd", "depotd doctor", "depotd backup", "depotd restore",
		"depotd db compact", "/dev/depotd/"} {
		if !strings.Contains(g, s) {
			t.Errorf("README.md does not mention %q", s)
		}
	}
}
