package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestRepostPostsAForcedRestoresDroppedTransactionsAgainOnceEach: after `restore --force`
// dropped seqs 11..30, `depotd repost FILE` posts each again as a new transaction (ids
// repost-<id>, a note naming the dropped seq), says so per transaction and in a total, and
// a second run posts nothing new.
func TestRepostPostsAForcedRestoresDroppedTransactionsAgainOnceEach(t *testing.T) {
	dir := t.TempDir()
	cfg := writeOpsConfig(t, dir, "")
	db := filepath.Join(dir, "data", dbFile)
	bak := replacedWithBackup(t, dir, db)
	cmd := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, nil, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := cmd("restore", "--config", cfg, "--from", bak, "--force")
	m := regexp.MustCompile(`exported to (\S+);`).FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("restore --force: exit %d\n%s%s", code, stdout, stderr)
	}
	file := m[1]
	code, stdout, stderr = cmd("repost", "--config", cfg, file)
	if code != 0 || !strings.Contains(stdout, file+": 20 posted, 0 already re-posted, 0 refused, 0 skipped") ||
		!strings.Contains(stdout, "posted   seq 11 receipt (id b-11): now seq 31 (id repost-b-11)") {
		t.Fatalf("repost: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = cmd("repost", "--config", cfg, file)
	if code != 0 || !strings.Contains(stdout, "20 already re-posted") || !strings.Contains(stdout, "already  seq 30 receipt (id b-30): re-posted before as seq 50") {
		t.Fatalf("second repost: exit %d\n%s%s", code, stdout, stderr)
	}
	j := openCrash(t, db)
	defer j.Close()
	if last, _ := j.Positions(); last != 50 {
		t.Fatalf("last seq %d, want 50 (20 voids for the dropped seqs, 20 re-posts)", last)
	}
	tx, err := j.GetByID("repost-b-11")
	if err != nil || tx.Seq != 31 || !strings.Contains(tx.Note, "re-posted: seq 11 (id b-11) was dropped by a forced restore") {
		t.Fatalf("re-post of b-11: %+v %v", tx, err)
	}
	rows, err := j.Stock(edge.StockFilter{Item: "SKU-1", Location: "WH/Stock"})
	if err != nil || len(rows) != 1 || rows[0].Qty.String() != "30" {
		t.Fatalf("stock %+v %v, want the backup's 10 and the 20 re-posted", rows, err)
	}
	code, _, stderr = cmd("repost", "--config", cfg, filepath.Join(dir, "nope.jsonl"))
	if code != 1 || !strings.Contains(stderr, "nope.jsonl") {
		t.Errorf("missing file: exit %d %s", code, stderr)
	}
}
