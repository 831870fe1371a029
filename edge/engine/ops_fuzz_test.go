package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"
)

var errRollback = errors.New("rollback")

// The journal's buckets, so that the committed corpus (payloads real commits wrote)
// decodes here as it does there.
var fuzzBuckets = []string{"meta", "tx", "txid", "stock", "snapshot", "exceptions", "master", "rejected", "stations", "seqgaps"}

// FuzzApplyOps feeds arbitrary payloads to the op decoder against a real bbolt
// transaction: it must reject what it cannot decode, never panic, and decode what a
// Writer records back into the same writes.
func FuzzApplyOps(f *testing.F) {
	for _, seed := range seedPayloads(f) {
		f.Add(seed)
	}
	db := fuzzDB(f)
	f.Fuzz(func(t *testing.T, payload []byte) {
		err := db.Update(func(btx *bolt.Tx) error {
			if _, err := ApplyOps(btx, payload); err != nil {
				return err
			}
			ops := decodeOps(payload)
			w := NewWriter(btx, 0)
			for _, o := range ops {
				w.record(o.kind, o.bucket, o.k, o.v)
			}
			if again := decodeOps(w.Ops()); !reflect.DeepEqual(again, ops) {
				t.Fatalf("payload %x decodes to %v, re-encoded to %v", payload, ops, again)
			}
			return errRollback
		})
		if err == nil {
			t.Fatal("the fuzz transaction committed")
		}
	})
}

// A payload a Writer recorded replays into exactly the writes it made.
func TestWriterPayloadReplaysIntoTheSameWrites(t *testing.T) {
	src, dst := fuzzDB(t), fuzzDB(t)
	var payload []byte
	if err := src.Update(func(btx *bolt.Tx) error {
		w := NewWriter(btx, 64)
		for _, err := range []error{
			w.Put([]byte("tx"), []byte{0, 1}, []byte(`{"id":"a"}`)),
			w.Put([]byte("txid"), []byte("a"), []byte{0, 1}),
			w.Put([]byte("meta"), []byte("k"), nil),
			w.Delete([]byte("txid"), []byte("a")),
		} {
			if err != nil {
				return err
			}
		}
		payload = bytes.Clone(w.Ops())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := dst.Update(func(btx *bolt.Tx) error {
		n, err := ApplyOps(btx, payload)
		if n != 4 {
			t.Errorf("applied %d ops, want 4", n)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	dump := func(db *bolt.DB) map[string]string {
		out := map[string]string{}
		db.View(func(btx *bolt.Tx) error {
			return btx.ForEach(func(name []byte, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					out[string(name)+"/"+string(k)] = string(v)
					return nil
				})
			})
		})
		return out
	}
	if a, b := dump(src), dump(dst); !reflect.DeepEqual(a, b) {
		t.Fatalf("replayed %v, wrote %v", b, a)
	}
}

type op struct {
	kind         byte
	bucket, k, v []byte
}

// decodeOps splits a payload ApplyOps accepted.
func decodeOps(p []byte) []op {
	var out []op
	for len(p) > 0 {
		o := op{kind: p[0], bucket: p[2 : 2+int(p[1])]}
		p = p[2+int(p[1]):]
		o.k, p, _ = uvarintBytes(p)
		if o.kind == OpPut {
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
		for _, b := range fuzzBuckets {
			if _, err := btx.CreateBucket([]byte(b)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// seedPayloads are payloads of the shape a commit writes.
func seedPayloads(tb testing.TB) [][]byte {
	db := fuzzDB(tb)
	var out [][]byte
	db.Update(func(btx *bolt.Tx) error {
		w := NewWriter(btx, 0)
		w.Put([]byte("tx"), binary.BigEndian.AppendUint64(nil, 1), []byte(`{"id":"a","seq":1,"type":"receipt","lines":[]}`))
		w.Put([]byte("txid"), []byte("a"), binary.BigEndian.AppendUint64(nil, 1))
		w.Put([]byte("stock"), []byte("SKU-1\x00WH/Stock\x00\x00available"), []byte("12"))
		out = append(out, bytes.Clone(w.Ops()))
		w = NewWriter(btx, 0)
		w.Delete([]byte("tx"), binary.BigEndian.AppendUint64(nil, 1))
		w.Delete([]byte("txid"), []byte("a"))
		w.Put([]byte("meta"), []byte("pruned_seq"), binary.BigEndian.AppendUint64(nil, 1))
		out = append(out, bytes.Clone(w.Ops()), nil)
		return errRollback
	})
	return out
}
