package odootest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/depotd/depotd/uplink/odoo/odootest"
)

// TestNeedChild only runs inside TestNeed's child processes.
func TestNeedChild(t *testing.T) {
	if os.Getenv("ODOOTEST_CHILD") != "1" {
		t.Skip("run by TestNeedSkipsWithoutOdooAndFailsUnderIntegration")
	}
	odootest.Need(t)
}

func TestNeedSkipsWithoutOdooAndFailsUnderIntegration(t *testing.T) {
	for _, tc := range []struct {
		integration string
		fail        bool
		want        string
	}{
		{"", false, "--- SKIP: TestNeedChild"},
		{"1", true, "DEPOTD_INTEGRATION=1 requires it"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestNeedChild$", "-test.v")
		cmd.Env = append(os.Environ(), "ODOOTEST_CHILD=1", "DEPOTD_ODOO_ENV=", "DEPOTD_INTEGRATION="+tc.integration)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tc.fail || !strings.Contains(string(out), tc.want) || !strings.Contains(string(out), odootest.EnvVar) {
			t.Errorf("DEPOTD_INTEGRATION=%q: err %v, output:\n%s\nwant failure=%v and %q", tc.integration, err, out, tc.fail, tc.want)
		}
	}
}
