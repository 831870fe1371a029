package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// writeBackup commits n receipts to a journal of depot CRASH and writes its backup (and
// FILE.sha256) to dir/backup.db.
func writeBackup(t *testing.T, dir string, n int) string {
	t.Helper()
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(filepath.Join(t.TempDir(), "src.db"), edge.Options{Depot: "CRASH", Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for i := 1; i <= n; i++ {
		if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("b-%d", i), Type: edge.Receipt,
			Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}}); err != nil {
			t.Fatal(err)
		}
	}
	bak := filepath.Join(dir, "backup.db")
	f, err := os.Create(bak)
	if err != nil {
		t.Fatal(err)
	}
	info, err := j.WriteBackup(f)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = edge.WriteSumFile(bak, info.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return bak
}

// TestRestoreOverAnUnreadableDatabaseAsksForTheFloor: the operator is told where to find
// the floor and that nothing changed; with --floor the restore runs and says where the
// damaged database went. The old flag name says it was renamed.
func TestRestoreOverAnUnreadableDatabaseAsksForTheFloor(t *testing.T) {
	dir := t.TempDir()
	cfg := writeOpsConfig(t, dir, "")
	bak := writeBackup(t, dir, 5)
	db := filepath.Join(dir, "data", dbFile)
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Repeat([]byte{0xA5}, 8192)
	if err := os.WriteFile(db, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	restore := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"restore", "--config", cfg, "--from", bak}, args...), nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, _, stderr := restore()
	if code != 1 || !strings.Contains(stderr, "--floor N") || !strings.Contains(stderr, "depotd fleet") || !strings.Contains(stderr, "Nothing was changed") {
		t.Fatalf("restore without --floor: exit %d\n%s", code, stderr)
	}
	if raw, _ := os.ReadFile(db); !bytes.Equal(raw, damaged) {
		t.Fatal("a refused restore changed the database")
	}
	if code, _, stderr := restore("--erp-acked-seq", "9"); code != 2 || !strings.Contains(stderr, "use --floor") {
		t.Fatalf("the old flag: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := restore("--floor", "40")
	if code != 0 || !strings.Contains(stdout, "continue at seq 41") || !strings.Contains(stdout, "could not be read") ||
		!strings.Contains(stdout, "kept as "+db+".replaced-") {
		t.Fatalf("restore with --floor: exit %d\n%s%s", code, stdout, stderr)
	}
}
