package odoo_test

import (
	"testing"

	"github.com/depotd/depotd/uplink/odoo"
)

func TestTxKeyIsTheDecidedIrModelDataName(t *testing.T) {
	for _, tc := range []struct {
		depot string
		seq   uint64
		want  string
	}{{"D1", 42, "tx_d1_42"}, {"DEPOT-01", 1, "tx_depot_01_1"}, {"a.b_C", 7, "tx_a_b_c_7"}} {
		if got := odoo.TxKey(tc.depot, tc.seq); got != tc.want {
			t.Errorf("TxKey(%q, %d) = %q, want %q", tc.depot, tc.seq, got, tc.want)
		}
	}
}
