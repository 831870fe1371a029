package edge

import (
	"bytes"
	"errors"
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
