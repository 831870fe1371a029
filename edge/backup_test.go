package edge_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/depotd/depotd/edge"
)

// backupFile writes j's backup and its checksum file to dir/name.
func backupFile(t *testing.T, j *edge.Journal, dir, name string) (string, edge.BackupInfo) {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := j.WriteBackup(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := edge.WriteSumFile(path, info.SHA256); err != nil {
		t.Fatal(err)
	}
	return path, info
}

func restoreOpts(t *testing.T, path string) edge.RestoreOptions {
	t.Helper()
	sum, err := edge.ReadSumFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return edge.RestoreOptions{Depot: "D1", Catalog: mustCatalog(t, nil), SHA256: sum}
}

func allTxs(t *testing.T, j *edge.Journal) []edge.Transaction {
	t.Helper()
	var out []edge.Transaction
	after := uint64(0)
	for {
		page, err := j.List(after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].Seq
	}
}

// TestBackupDuringLoad takes a backup while writers post and restores it: the restored
// journal is exactly the source's journal up to the backup's last_seq, and checks clean.
func TestBackupDuringLoad(t *testing.T) {
	dir := t.TempDir()
	j := mustOpenAt(t, filepath.Join(dir, "src.db"), edge.Options{})
	for i := 1; i <= 300; i++ {
		mustCommit(t, j, receipt(txID("pre", i), bigNote))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var posted atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				if _, _, err := j.Commit(ctx, receipt(txID(fmt.Sprintf("load%d", w), i), bigNote)); err != nil {
					if ctx.Err() == nil {
						t.Error(err)
					}
					return
				}
				posted.Add(1)
			}
		}()
	}
	// Let the load run, then back up in the middle of it.
	for start := posted.Load(); posted.Load() < start+50; {
		<-j.Committed()
	}
	bak, info := backupFile(t, j, dir, "backup.db")
	for start := posted.Load(); posted.Load() < start+50; {
		<-j.Committed()
	}
	cancel()
	wg.Wait()
	last, _ := j.Positions()
	if info.LastSeq <= 300 || info.LastSeq >= last {
		t.Fatalf("backup at seq %d, source at %d: not taken under load", info.LastSeq, last)
	}
	dst := filepath.Join(dir, "restored", "depotd.db")
	res, err := edge.Restore(bak, dst, restoreOpts(t, bak))
	if err != nil {
		t.Fatal(err)
	}
	if res.Floor != info.LastSeq || res.GapFrom != 0 {
		t.Fatalf("restore onto a blank dir: floor %d gap %d, want %d and none", res.Floor, res.GapFrom, info.LastSeq)
	}
	r := mustOpenAt(t, dst, edge.Options{})
	got, want := allTxs(t, r), allTxs(t, j)[:info.LastSeq]
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("restored journal differs: %d transactions, want %d", len(got), len(want))
	}
	srcStock, _ := j.Stock(edge.StockFilter{Limit: 100})
	if len(srcStock) == 0 {
		t.Fatal("no stock")
	}
}

// TestRestoreNeverReusesSeqs restores an old backup over a database that went further, and
// onto a blank gateway with a floor given: new transactions always continue above
// every seq either side has seen.
func TestRestoreNeverReusesSeqs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "data", "depotd.db")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	j, err := edge.Open(path, edge.Options{Depot: "D1", Catalog: mustCatalog(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		mustCommit(t, j, receipt(txID("a", i), ""))
	}
	bak, _ := backupFile(t, j, dir, "old.db")
	for i := 51; i <= 80; i++ {
		mustCommit(t, j, receipt(txID("a", i), ""))
	}
	if _, err := j.Ack(edge.Ack{UptoSeq: 70}); err != nil {
		t.Fatal(err)
	}
	// Refused while the database is open (depotd running).
	if _, err := edge.Restore(bak, path, restoreOpts(t, bak)); !errors.Is(err, edge.ErrLocked) {
		t.Fatalf("restore while running: %v, want ErrLocked", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name      string
		dst       string
		floor     uint64
		wantFloor uint64
		wantAcked uint64
	}{
		{"over the newer database", path, 0, 80, 70},
		{"blank gateway, floor given", filepath.Join(dir, "blank", "depotd.db"), 95, 95, 0},
		{"blank gateway, nothing known", filepath.Join(dir, "blank2", "depotd.db"), 0, 50, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := restoreOpts(t, bak)
			o.Floor = c.floor
			o.Force = true // seqs 71..80 were never acknowledged: dropping them is the point here
			res, err := edge.Restore(bak, c.dst, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Floor != c.wantFloor || res.Acked != c.wantAcked {
				t.Fatalf("floor %d acked %d, want %d and %d", res.Floor, res.Acked, c.wantFloor, c.wantAcked)
			}
			r := mustOpenAt(t, c.dst, edge.Options{})
			tx := mustCommit(t, r, receipt("after-restore", ""))
			if tx.Seq != c.wantFloor+1 {
				t.Fatalf("first seq after restore %d, want %d", tx.Seq, c.wantFloor+1)
			}
			// A transaction posted after the backup is unknown now: posting it again gets a
			// new seq, never an old one.
			if tx := mustCommit(t, r, receipt(txID("a", 60), "")); tx.Seq != c.wantFloor+2 {
				t.Fatalf("re-posted id got seq %d, want %d", tx.Seq, c.wantFloor+2)
			}
			excs, _ := r.Exceptions(true, 10)
			if len(excs) == 0 || excs[0].Kind != edge.ExcRestore {
				t.Fatalf("no restore exception: %+v", excs)
			}
			if c.wantFloor > 50 && !strings.Contains(excs[0].Message, fmt.Sprintf("seqs 51..%d are skipped", c.wantFloor)) {
				t.Fatalf("restore exception %q does not name the skipped seqs", excs[0].Message)
			}
		})
	}
	// The replaced database was kept aside with its WAL, not deleted.
	aside, _ := filepath.Glob(path + ".replaced-*")
	if len(aside) != 2 || aside[1] != edge.WALPath(aside[0]) {
		t.Fatalf("replaced database kept as %v, want it and its WAL", aside)
	}
}

func TestVerifyBackupRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	j := mustOpenAt(t, filepath.Join(dir, "src.db"), edge.Options{})
	for i := 1; i <= 20; i++ {
		mustCommit(t, j, receipt(txID("v", i), ""))
	}
	bak, info := backupFile(t, j, dir, "b.db")
	cat := mustCatalog(t, nil)
	if _, err := edge.VerifyBackup(bak, info.SHA256, "D1", cat); err != nil {
		t.Fatalf("good backup refused: %v", err)
	}
	raw, _ := os.ReadFile(bak)
	cases := []struct {
		name  string
		bytes func() []byte
		sum   func(b []byte) string
		depot string
		want  string
	}{
		{"wrong checksum", func() []byte { return raw }, func([]byte) string { return strings.Repeat("0", 64) }, "D1", "SHA-256"},
		{"other depot", func() []byte { return raw }, nil, "D2", "belongs to depot"},
		{"truncated", func() []byte { return raw[:len(raw)/2] }, nil, "D1", "backup"},
		{"one byte changed inside a transaction", func() []byte {
			// v-000010 becomes v-000019: pages are intact, the journal is not. Every copy
			// is changed: copy-on-write leaves stale ones in free pages.
			if !bytes.Contains(raw, []byte(`"v-000010"`)) {
				t.Fatal("transaction not found in the file")
			}
			return bytes.ReplaceAll(raw, []byte(`"v-000010"`), []byte(`"v-000019"`))
		}, nil, "D1", "problem"},
		{"not a database", func() []byte { return []byte("hello") }, nil, "D1", "not a depotd database"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.db")
			b := c.bytes()
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			sum, _ := edge.SumFile(p)
			if c.sum != nil {
				sum = c.sum(b)
			}
			_, err := edge.VerifyBackup(p, sum, c.depot, cat)
			if !errors.Is(err, edge.ErrBadBackup) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrBadBackup mentioning %q", err, c.want)
			}
			dst := filepath.Join(t.TempDir(), "d", "depotd.db")
			if _, err := edge.Restore(p, dst, edge.RestoreOptions{Depot: c.depot, Catalog: cat, SHA256: sum}); err == nil {
				t.Fatal("restore accepted a bad backup")
			}
			if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a refused restore wrote %s", dst)
			}
		})
	}
}
