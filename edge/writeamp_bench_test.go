package edge_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/depotd/depotd/edge"
	"github.com/depotd/depotd/edge/engine"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// Write amplification: bytes written to storage per byte of transaction payload, the
// payload being the stored transaction's JSON (what the journal hands the uplink: id, seq,
// time, type, ref, one line with lot and expiry, about 230 bytes).
//
// Two meters, both read around each measured run:
//   - proc: /proc/self/io write_bytes − cancelled_write_bytes. The kernel counts a page
//     (4 KiB) when a write makes it dirty, at the page cache, for the process that wrote
//     it; a page written twice before writeback counts once. It does not see what the
//     filesystem writes on its own behalf (the ext4 journal, jbd2: inodes, block maps,
//     the size of an appended file), so it is a lower bound, exact for overwrites of
//     allocated blocks (the WAL) and short for appends. The raw-append case shows it.
//   - dev: sectors written on the block device holding the temp dir
//     (/sys/dev/block/MAJ:MIN/stat, field 7), after a syncfs. It sees everything the
//     filesystem sends to the device, jbd2 included, but also every other process's
//     writes to that device: on a shared disk it is noise, on a private one (a loop
//     device; see the README's Benchmarks section) it is the truth for that filesystem.
//
// The baseline is bbolt alone (the journal's own bbolt options), one db.Update (two
// fdatasyncs) per transaction putting its JSON under a big-endian seq key: the least a
// journal on bbolt could write without a log, measured once per run and reported as
// x-bbolt by every case.

// writeMeter reads both meters for the filesystem holding dir.
type writeMeter struct {
	dir     string
	devStat string // "" when the dir's device has no block counters (tmpfs, overlay)
}

func newWriteMeter(tb testing.TB, dir string) *writeMeter {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		tb.Fatal(err)
	}
	m := &writeMeter{dir: dir}
	p := fmt.Sprintf("/sys/dev/block/%d:%d/stat", unix.Major(st.Dev), unix.Minor(st.Dev))
	if _, err := os.Stat(p); err == nil {
		m.devStat = p
	}
	return m
}

// read syncs the filesystem (so that what the kernel still holds dirty, an inode's
// mtime, reaches the device) and returns both counters.
func (m *writeMeter) read(tb testing.TB) (proc, dev int64) {
	d, err := os.Open(m.dir)
	if err != nil {
		tb.Fatal(err)
	}
	err = unix.Syncfs(int(d.Fd()))
	d.Close()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open("/proc/self/io")
	if err != nil {
		tb.Skipf("no /proc/self/io: %v", err)
	}
	defer f.Close()
	var written, cancelled int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "write_bytes":
			written = n
		case "cancelled_write_bytes":
			cancelled = n
		}
	}
	proc = written - cancelled
	if m.devStat != "" {
		b, err := os.ReadFile(m.devStat)
		if err != nil {
			tb.Fatal(err)
		}
		fields := strings.Fields(string(b))
		sectors, _ := strconv.ParseInt(fields[6], 10, 64)
		dev = sectors * 512
	}
	return proc, dev
}

// writes is what one measured run wrote for how much payload.
type writes struct {
	proc, dev, payload, txs int64
	hasDev                  bool
}

// measure runs fn between two readings of the meters of dir; fn returns the payload
// bytes and transactions it committed.
func measure(tb testing.TB, dir string, fn func() (payload, txs int64)) writes {
	m := newWriteMeter(tb, dir)
	p0, d0 := m.read(tb)
	payload, txs := fn()
	p1, d1 := m.read(tb)
	return writes{proc: p1 - p0, dev: d1 - d0, payload: payload, txs: txs, hasDev: m.devStat != ""}
}

func (w writes) report(b *testing.B, base writes) {
	b.ReportMetric(float64(w.payload)/float64(w.txs), "payload-B/tx")
	b.ReportMetric(float64(w.proc)/float64(w.txs), "proc-B/tx")
	if !w.hasDev {
		return
	}
	b.ReportMetric(float64(w.dev)/float64(w.txs), "dev-B/tx")
	b.ReportMetric(float64(w.dev)/float64(w.payload), "x-payload")
	if base.txs > 0 && base.dev > 0 {
		b.ReportMetric((float64(w.dev)/float64(w.txs))/(float64(base.dev)/float64(base.txs)), "x-bbolt")
	}
}

// reportWAL reports what the journal's WAL wrote per transaction, estimated as one block
// per group commit (exact while a group's record fits in one, as here below ~14
// transactions a group), and how many transactions a group held.
func reportWAL(b *testing.B, j *edge.Journal, txs int64) {
	commits, all := j.Stats()
	if commits == 0 {
		return
	}
	b.ReportMetric(float64(all)/float64(commits), "tx/commit")
	b.ReportMetric(float64(commits*engine.BlockSize)/float64(txs), "wal-B/tx")
	b.ReportMetric(float64(j.Checkpoints()), "checkpoints")
}

// benchDir is where the write-amplification benchmarks put their files:
// DEPOTD_BENCH_DIR (a private filesystem, so that the device meter sees only them) or a
// fresh temp dir.
func benchDir(b *testing.B) string {
	if d := os.Getenv("DEPOTD_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "writeamp-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

func ampTx(i int64) edge.Transaction {
	return edge.Transaction{ID: fmt.Sprintf("tx-%08d", i), Type: edge.Receipt, Ref: "PO0042",
		Lines: []edge.Line{{Item: fmt.Sprintf("SKU-%d", i%500), Qty: edge.MustQty("12"), Lot: "L1", Expiry: "2027-01-31", To: "WH/Stock"}}}
}

var (
	bboltOnce sync.Once
	bboltBase writes
)

// bboltBaseline measures bbolt alone once per run: the stored JSON of 2,000 transactions
// as the journal stores them (committed to a scratch journal first), one db.Update each,
// 1 writer.
func bboltBaseline(b *testing.B) writes {
	bboltOnce.Do(func() {
		dir, err := os.MkdirTemp(os.Getenv("DEPOTD_BENCH_DIR"), "bbolt-base-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(dir)
		const n = 2000
		scratch, err := edge.Open(filepath.Join(dir, "scratch.db"), edge.Options{Depot: "D1", Catalog: mustCatalog(b, nil)})
		if err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		commitAll(b, scratch, &next, n, 16, false)
		var stored [][]byte
		err = scratch.Scan(context.Background(), 0, func(_ uint64, raw []byte) error {
			stored = append(stored, append([]byte(nil), raw...))
			return nil
		})
		if err := errors.Join(err, scratch.Close()); err != nil {
			b.Fatal(err)
		}
		db, err := bolt.Open(filepath.Join(dir, "bbolt.db"), 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("tx")); return err }); err != nil {
			b.Fatal(err)
		}
		bboltBase = measure(b, dir, func() (int64, int64) {
			var payload int64
			for i, v := range stored {
				payload += int64(len(v))
				if err := db.Update(func(btx *bolt.Tx) error {
					return btx.Bucket([]byte("tx")).Put(binary.BigEndian.AppendUint64(nil, uint64(i+1)), v)
				}); err != nil {
					b.Fatal(err)
				}
			}
			return payload, int64(len(stored))
		})
	})
	return bboltBase
}

// commitAll commits n transactions from writers goroutines (ids from next) and returns
// the stored JSON's bytes. paced, each commit waits for a checkpoint that ends after it
// (deadline 30 s: a loaded machine): the next transaction arrives after the last one's
// idle checkpoint, as on a gateway where scans come seconds apart.
func commitAll(b *testing.B, j *edge.Journal, next *atomic.Int64, n, writers int, paced bool) int64 {
	var payload, left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				seen := j.Checkpoints()
				stored, _, err := j.Commit(context.Background(), ampTx(next.Add(1)))
				if err != nil {
					b.Error(err)
					return
				}
				v, _ := json.Marshal(stored)
				payload.Add(int64(len(v)))
				for deadline := time.Now().Add(30 * time.Second); paced && j.Checkpoints() == seen; {
					if time.Now().After(deadline) {
						b.Error("no idle checkpoint within 30 s")
						return
					}
					time.Sleep(200 * time.Microsecond)
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return payload.Load()
}

// BenchmarkWriteAmplification measures bytes written per byte of transaction payload
// (see the meters above) for b.N transactions: raw 512 B append+fdatasync and overwrite
// +fdatasync (the meters' check: a 4 KiB block per sync at the least), bbolt alone, and the journal at 1 and 16
// writers under steady load (closed loop: the next transaction as soon as the last is
// answered) and at 1 writer paced (each transaction after the previous one's idle
// checkpoint: a quiet gateway).
//
//	go test ./edge -run '^$' -bench '^BenchmarkWriteAmplification$' -benchtime 4000x
func BenchmarkWriteAmplification(b *testing.B) {
	b.Run("raw-append-512B-fdatasync", func(b *testing.B) {
		dir := benchDir(b)
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 512)
		w := measure(b, dir, func() (int64, int64) {
			for i := 0; i < b.N; i++ {
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			return int64(b.N) * 512, int64(b.N)
		})
		w.report(b, writes{})
	})
	// What a WAL record of any alignment costs: a 512 B overwrite inside an allocated
	// block writes the filesystem's whole block (4 KiB on ext4) at each fdatasync.
	b.Run("raw-overwrite-512B-fdatasync", func(b *testing.B) {
		dir := benchDir(b)
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if _, err := f.Write(make([]byte, 1<<20)); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 512)
		w := measure(b, dir, func() (int64, int64) {
			for i := 0; i < b.N; i++ {
				if _, err := f.WriteAt(buf, int64(i%2048)*512); err != nil {
					b.Fatal(err)
				}
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			return int64(b.N) * 512, int64(b.N)
		})
		w.report(b, writes{})
	})
	b.Run("bbolt-1-writer", func(b *testing.B) {
		base := bboltBaseline(b)
		base.report(b, writes{})
	})
	for _, c := range []struct {
		name    string
		writers int
		paced   bool
	}{{"journal-1-writer", 1, false}, {"journal-16-writers", 16, false}, {"journal-1-writer-paced", 1, true}} {
		b.Run(c.name, func(b *testing.B) {
			base := bboltBaseline(b)
			dir := benchDir(b)
			j := mustOpenAt(b, filepath.Join(dir, "depotd.db"), edge.Options{})
			var next atomic.Int64
			commitAll(b, j, &next, 200, c.writers, false) // buckets, first pages: not steady state
			b.ResetTimer()
			w := measure(b, dir, func() (int64, int64) {
				p := commitAll(b, j, &next, b.N, c.writers, c.paced)
				if _, err := j.Status(); err != nil { // checkpoints what only the WAL holds
					b.Fatal(err)
				}
				return p, int64(b.N)
			})
			b.StopTimer()
			w.report(b, base)
			reportWAL(b, j, int64(b.N)+200)
		})
	}
}

// BenchmarkWriteAmplificationDay is a busy depot's day, DEPOTD_BENCH_DAY_TXS transactions
// (default 50,000), with the uplink's acks (every 10 transactions), the ERP's stock
// snapshots (every 1,000) and pruning on (every 100 transactions, everything acknowledged
// and in a snapshot: a depot past its retention deletes as many as it adds), at 16 writers
// in a closed loop, and at 1 writer paced as in BenchmarkWriteAmplification (50,000 in ten
// hours is one every 0.7 s, so paced is how they really arrive; it takes minutes).
//
//	go test ./edge -run '^$' -bench '^BenchmarkWriteAmplificationDay$' -benchtime 1x -timeout 30m
func BenchmarkWriteAmplificationDay(b *testing.B) {
	n := 50_000
	if v, err := strconv.Atoi(os.Getenv("DEPOTD_BENCH_DAY_TXS")); err == nil && v > 0 {
		n = v
	}
	for _, c := range []struct {
		name    string
		writers int
		paced   bool
	}{{"16-writers", 16, false}, {"1-writer-paced", 1, true}} {
		b.Run(c.name, func(b *testing.B) {
			base := bboltBaseline(b)
			for b.Loop() {
				dir := benchDir(b)
				j := mustOpenAt(b, filepath.Join(dir, "depotd.db"), edge.Options{})
				var next atomic.Int64
				var payload, pruned int64
				w := measure(b, dir, func() (int64, int64) {
					chunk := 10 * c.writers // an ack per 10 transactions of each writer
					nextSnapshot, nextPrune := 1000, 100
					for done := 0; done < n; done += chunk {
						payload += commitAll(b, j, &next, min(chunk, n-done), c.writers, c.paced)
						last, _ := j.Positions()
						if _, err := j.Ack(edge.Ack{UptoSeq: last}); err != nil {
							b.Fatal(err)
						}
						if done+chunk >= nextSnapshot {
							snapshotAt(b, j, last)
							nextSnapshot += 1000
						}
						if done+chunk >= nextPrune {
							res, err := j.Prune(time.Now().Add(time.Hour), edge.DefaultPruneBatch)
							if err != nil {
								b.Fatal(err)
							}
							pruned += int64(res.Pruned)
							nextPrune += 100
						}
					}
					if _, err := j.Status(); err != nil {
						b.Fatal(err)
					}
					return payload, int64(n)
				})
				w.report(b, base)
				reportWAL(b, j, int64(n))
				b.ReportMetric(float64(pruned), "pruned")
				st, err := os.Stat(filepath.Join(dir, "depotd.db"))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(st.Size())/(1<<20), "db-MiB")
			}
		})
	}
}
