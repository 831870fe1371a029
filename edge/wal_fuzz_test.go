package edge

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var errRollback = errors.New("rollback")

// FuzzApplyOps feeds arbitrary payloads to the WAL's op decoder against a real bbolt
// transaction: it must reject what it cannot decode, never panic, and decode what redo
// encodes back into the same writes.
func FuzzApplyOps(f *testing.F) {
	for _, seed := range walSeedPayloads(f) {
		f.Add(seed)
	}
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		err := db.Update(func(btx *bolt.Tx) error {
			if _, err := applyOps(btx, payload); err != nil {
				return err
			}
			// What decoded encodes back into the same writes.
			ops := decodeOps(payload)
			rec := &redo{btx: btx}
			for _, o := range ops {
				rec.record(o.kind, o.bucket, o.k, o.v)
			}
			if again := decodeOps(rec.ops); !reflect.DeepEqual(again, ops) {
				t.Fatalf("payload %x decodes to %v, re-encoded to %v", payload, ops, again)
			}
			return errRollback
		})
		if err == nil {
			t.Fatal("the fuzz transaction committed")
		}
	})
}

type walOp struct {
	kind         byte
	bucket, k, v []byte
}

// decodeOps splits a payload applyOps accepted.
func decodeOps(p []byte) []walOp {
	var out []walOp
	for len(p) > 0 {
		o := walOp{kind: p[0], bucket: p[2 : 2+int(p[1])]}
		p = p[2+int(p[1]):]
		o.k, p, _ = uvarintBytes(p)
		if o.kind == opPut {
			o.v, p, _ = uvarintBytes(p)
		}
		out = append(out, o)
	}
	return out
}

// FuzzReadWAL reads arbitrary bytes as a WAL file: only intact records of this database
// with consecutive lsns come out, and reading never panics.
func FuzzReadWAL(f *testing.F) {
	for _, seed := range walSeedFiles(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		next := uint64(7)
		err := readWAL(bytes.NewReader(file), int64(len(file)), 42, 6, func(r walRecord) error {
			if r.lsn != next {
				t.Fatalf("record lsn %d, want %d", r.lsn, next)
			}
			next++
			return nil
		})
		var ce *WALCorruptError
		if errors.As(err, &ce) {
			// Only where a later intact record proves the damage.
			rec, rerr := readRecord(bytes.NewReader(file), int64(len(file)), ce.FoundOffset, 42)
			if rerr != nil || rec == nil || ce.Found < next || ce.Bad != next || ce.FoundOffset <= ce.BadOffset {
				t.Fatalf("corruption reported without proof: %v (next lsn %d)", err, next)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}

func fuzzDB(tb testing.TB) *bolt.DB {
	db, err := bolt.Open(filepath.Join(tb.TempDir(), "fuzz.db"), 0o600, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Update(func(btx *bolt.Tx) error {
		for _, b := range allBuckets {
			if _, err := btx.CreateBucket(b); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// walSeedPayloads are payloads a commit really writes.
func walSeedPayloads(tb testing.TB) [][]byte {
	db := fuzzDB(tb)
	var out [][]byte
	db.Update(func(btx *bolt.Tx) error {
		rec := &redo{btx: btx}
		rec.put(bucketTx, u64(1), []byte(`{"id":"a","seq":1,"type":"receipt","lines":[]}`))
		rec.put(bucketTxID, []byte("a"), u64(1))
		rec.put(bucketStock, []byte("SKU-1\x00WH/Stock\x00\x00available"), stockRec{Qty: MustQty("12")}.encode())
		out = append(out, bytes.Clone(rec.ops))
		rec.ops = nil
		rec.del(bucketTx, u64(1))
		rec.del(bucketTxID, []byte("a"))
		rec.put(bucketMeta, keyPrunedSeq, u64(1))
		out = append(out, bytes.Clone(rec.ops), nil)
		return errRollback
	})
	return out
}

// walSeedFiles are WAL files of id 42 after lsn 6, cut after the second record's header:
// one good record, and one torn.
func walSeedFiles(tb testing.TB) [][]byte {
	path := filepath.Join(tb.TempDir(), "seed.wal")
	w, err := openWAL(path, 4*walBlock, 42, 6)
	if err != nil {
		tb.Fatal(err)
	}
	defer w.close()
	var buf []byte
	for _, p := range walSeedPayloads(tb) {
		off, lsn, err := w.reserve(len(p))
		if err != nil {
			tb.Fatal(err)
		}
		if buf, err = w.put(buf, off, lsn, len(p), []*group{{ops: p}}); err != nil {
			tb.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	// Kept short: the fuzzer slows to a crawl on inputs of many kilobytes. The second
	// record's header is enough to read it as the next (or as torn).
	torn := bytes.Clone(raw[:walBlock+walHeader+8])
	torn[walHeader+3] ^= 0xff
	return [][]byte{raw[:walBlock+walHeader+8], torn, nil}
}
