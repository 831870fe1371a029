package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestRestoreRefusesUnacknowledgedWithoutForceAndExportsThemWithForce: over a database
// whose seqs 11..30 (only in its WAL) the ERP never acknowledged, `depotd restore` of a
// backup at seq 10 exits 1 saying how many, which seqs and what to do, and changes
// nothing; with --force it restores, names the export file beside the database (one JSON
// transaction a line, all 20 of them) and the restore exception lists them and the file.
func TestRestoreRefusesUnacknowledgedWithoutForceAndExportsThemWithForce(t *testing.T) {
	dir := t.TempDir()
	cfg := writeOpsConfig(t, dir, "")
	db := filepath.Join(dir, "data", dbFile)
	bak := replacedWithBackup(t, dir, db)
	kept, wal := mustRead(t, db), mustRead(t, edge.WALPath(db))
	restore := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"restore", "--config", cfg, "--from", bak}, args...), nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, _, stderr := restore()
	for _, want := range []string{"20 transaction(s) newer than the backup (seq 10)", "seqs 11..30", "let the uplink deliver them first",
		"depotd fleet", "--force", "Nothing was changed"} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("restore without --force: exit %d, want 1 and %q in:\n%s", code, want, stderr)
		}
	}
	if !bytes.Equal(mustRead(t, db), kept) || !bytes.Equal(mustRead(t, edge.WALPath(db)), wal) {
		t.Fatal("a refused restore changed the database or its WAL")
	}

	code, stdout, stderr := restore("--force")
	m := regexp.MustCompile(`dropped 20 transaction\(s\) the ERP never acknowledged \(--force\): exported to (\S+);`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("restore --force: exit %d\n%s%s", code, stdout, stderr)
	}
	file := m[1]
	if filepath.Dir(file) != filepath.Dir(db) {
		t.Errorf("export %s is not beside the database %s", file, db)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); n++ {
		var tx edge.Transaction
		if err := json.Unmarshal(sc.Bytes(), &tx); err != nil || tx.Seq != uint64(11+n) || tx.At == nil ||
			len(tx.Lines) != 1 || tx.Lines[0].Item != "SKU-1" || tx.Lines[0].Qty.String() != "1" {
			t.Fatalf("export line %d: %+v %v", n, tx, err)
		}
	}
	if n != 20 {
		t.Fatalf("export holds %d transactions, want 20", n)
	}
	checkDatabase(t, depotdBinary(t), cfg)
	j := openCrash(t, db)
	excs, err := j.Exceptions(true, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range excs {
		if e.Kind == edge.ExcRestore && strings.Contains(e.Message, "20 transaction(s) the ERP never acknowledged were dropped") &&
			strings.Contains(e.Message, file) && strings.Contains(e.Message, "#11 receipt") && strings.Contains(e.Message, "#30 receipt") {
			found = true
		}
	}
	if !found {
		t.Errorf("no restore exception lists the dropped transactions and the file: %+v", excs)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
