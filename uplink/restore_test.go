package uplink_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/uplink"
	"github.com/depotd/depotd/uplink/internal/brokertest"
)

// TestForwardingContinuesAfterARestoreThatSkippedSeqs: the ERP applied seqs 1..20 of a
// database that went on to seq 30; a backup at seq 10 is restored over it, so seqs 11..30
// are skipped (floor 30). The forwarder resumes above the ack watermark (20) and the seqs
// it finds there are voids, which the ERP applies as nothing: everything after the restore
// is forwarded and acknowledged, where a hole would wedge the uplink for good.
func TestForwardingContinuesAfterARestoreThatSkippedSeqs(t *testing.T) {
	url := brokertest.StartMochi(t).URL()
	dir := t.TempDir()
	path := filepath.Join(dir, "depotd.db")
	sim := startSim(t, url, nil)
	cfg := uplink.Config{Brokers: []string{url}, Inflight: 100}

	j := mustJournalNoCleanup(t, path)
	post(t, j, 0, 10)
	bak := filepath.Join(dir, "backup.db")
	f, err := os.Create(bak)
	if err != nil {
		t.Fatal(err)
	}
	info, err := j.WriteBackup(f)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	post(t, j, 10, 10)
	r := startUplink(t, cfg, j)
	waitFor(t, 30*time.Second, "seqs 1..20 acknowledged", drained(j))
	r.stop(t)
	post(t, j, 20, 10) // 21..30: never reach the ERP
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Force: seqs 21..30 were never acknowledged, and the point here is the uplink after
	// a restore that skips them (without it the restore is refused, #19.2).
	res, err := edge.Restore(bak, path, edge.RestoreOptions{Depot: depotID, Catalog: cat, SHA256: info.SHA256, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Floor != 30 || res.Acked != 20 || res.GapFrom != 11 {
		t.Fatalf("restore: floor %d acked %d gap from %d, want 30, 20, 11", res.Floor, res.Acked, res.GapFrom)
	}

	j = mustJournal(t, path)
	post(t, j, 100, 5) // 31..35
	startUplink(t, cfg, j)
	waitFor(t, 30*time.Second, "every seq after the restore acknowledged", drained(j))
	if last, _ := j.Positions(); last != 35 {
		t.Fatalf("last seq %d, want 35", last)
	}
	st := sim.Stats(depotID)
	if st.Applied != 35 || st.Voids != 10 {
		t.Fatalf("ERP %+v, want seq 35 applied through 10 voids (21..30)", st)
	}
}
