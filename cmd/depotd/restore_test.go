package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	bak := backupTo(t, j, filepath.Join(dir, "backup.db"))
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

// TestRestoreKilledMidwayCompletesOnRerun SIGKILLs `depotd restore` at each step that
// leaves something on disk (DEPOTD_TEST_RESTORE_PAUSE_AT): running it again completes the
// restore, the floor still counts the replaced database's seqs (11..30 are voids, none
// reused), the result checks clean, and the database it replaced is still kept whole.
func TestRestoreKilledMidwayCompletesOnRerun(t *testing.T) {
	bin := depotdBinary(t)
	const floor = 30 // the replaced database's last seq: a rerun must still count it
	for _, step := range []string{"voids", "copied", "kept", "switched"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeOpsConfig(t, dir, "")
			db := filepath.Join(dir, "data", dbFile)
			bak := replacedWithBackup(t, dir, db)

			// 11..30 were never acknowledged: --force (TestRestoreRefusesUnacknowledgedWithoutForceAndExportsThemWithForce).
			cmd := exec.Command(bin, "restore", "--config", cfg, "--from", bak, "--force")
			cmd.Env = append(os.Environ(), "DEPOTD_TEST_RESTORE_PAUSE_AT="+step)
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			paused := make(chan bool, 1)
			go func() {
				sc := bufio.NewScanner(stderr)
				found := false
				for sc.Scan() {
					if strings.Contains(sc.Text(), "paused at "+step) && !found {
						found = true
						paused <- true
					}
				}
				if !found {
					paused <- false
				}
			}()
			select {
			case ok := <-paused:
				if !ok {
					cmd.Wait()
					t.Fatalf("depotd restore ended without pausing at %s", step)
				}
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("depotd restore did not reach %s within 60s", step)
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()

			out, err := exec.Command(bin, "restore", "--config", cfg, "--from", bak, "--force").CombinedOutput()
			if err != nil || !strings.Contains(string(out), fmt.Sprintf("continue at seq %d", floor+1)) {
				t.Fatalf("restore again after SIGKILL at %s: %v\n%s", step, err, out)
			}
			checkDatabase(t, bin, cfg)
			j := openCrash(t, db)
			if last, _ := j.Positions(); last != floor {
				t.Fatalf("restored journal at seq %d, want %d", last, floor)
			}
			if tx, err := j.GetByID("b-10"); err != nil || tx.Seq != 10 {
				t.Fatalf("seq 10 of the backup: %v %d", err, tx.Seq)
			}
			if tx, err := j.Get(floor); err != nil || tx.Type != edge.Void {
				t.Fatalf("seq %d: %v %+v, want a void", floor, err, tx)
			}
			j.Close()
			// The replaced database (seq 30) is kept whole under one of the names.
			kept := false
			aside, _ := filepath.Glob(db + ".replaced-*")
			for _, p := range aside {
				if strings.HasSuffix(p, ".wal") {
					continue
				}
				c := filepath.Join(t.TempDir(), dbFile)
				copyTree(t, p, c)
				k := openCrash(t, c)
				last, _ := k.Positions()
				_, err := k.GetByID("b-30")
				kept = kept || (last == 30 && err == nil && len(k.Check()) == 0)
				k.Close()
			}
			if !kept {
				t.Fatalf("the replaced database (seq 30) is not kept whole among %v", aside)
			}
		})
	}
}

// replacedWithBackup writes the database a restore replaces at db as a power cut left it
// (seqs 1..30, b-1..b-30; 11..30 only in its WAL) and a backup of it taken at seq 10, and
// returns the backup's path.
func replacedWithBackup(t *testing.T, dir, db string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), dbFile)
	j := openCrash(t, src, time.Hour)
	commitN := func(from, to int) {
		for i := from; i <= to; i++ {
			if _, _, err := j.Commit(context.Background(), edge.Transaction{ID: fmt.Sprintf("b-%d", i), Type: edge.Receipt,
				Lines: []edge.Line{{Item: "SKU-1", Qty: edge.MustQty("1"), To: "WH/Stock"}}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	commitN(1, 10)
	bak := backupTo(t, j, filepath.Join(dir, "backup.db"))
	commitN(11, 30)
	copyTree(t, src, db) // nothing checkpoints 11..30 meanwhile: no read, an hour's idle
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return bak
}

// openCrash opens the journal at path with the locations writeOpsConfig configures; idle,
// if given, delays its idle and periodic checkpoints.
func openCrash(t *testing.T, path string, idle ...time.Duration) *edge.Journal {
	t.Helper()
	opts := edge.Options{Depot: "CRASH"}
	if len(idle) > 0 {
		opts.CheckpointIdle, opts.CheckpointEvery = idle[0], idle[0]
	}
	cat, err := edge.NewCatalog([]edge.Location{{Name: "WH/Stock", Type: edge.LocInternal}, {Name: "WH/Input", Type: edge.LocInternal},
		{Name: "Van-1", Type: edge.LocMobile}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts.Catalog = cat
	j, err := edge.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// copyTree copies a database and its WAL (if any) to dst and dst.wal.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	for _, p := range [][2]string{{src, dst}, {edge.WALPath(src), edge.WALPath(dst)}} {
		raw, err := os.ReadFile(p[0])
		if errors.Is(err, os.ErrNotExist) && p[0] != src {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[1], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// backupTo writes j's backup and its FILE.sha256 to path.
func backupTo(t *testing.T, j *edge.Journal, path string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := j.WriteBackup(f)
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = edge.WriteSumFile(path, info.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return path
}
