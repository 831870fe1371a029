package edge

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCheckCatchesBadPruning damages a journal the ways a wrong pruner or restore would,
// and expects Check to name each.
func TestCheckCatchesBadPruning(t *testing.T) {
	cases := []struct {
		name   string
		damage func(btx *bolt.Tx) error
		want   string
	}{
		{"pruned beyond the ack", func(btx *bolt.Tx) error {
			if err := btx.Bucket(bucketTx).Delete(u64(1)); err != nil {
				return err
			}
			return btx.Bucket(bucketMeta).Put(keyPrunedSeq, u64(1))
		}, "pruned_seq 1 is beyond acked_seq 0"},
		{"head missing without pruned_seq", func(btx *bolt.Tx) error {
			return btx.Bucket(bucketTx).Delete(u64(1))
		}, "seq gap: expected 1, found 2"},
		{"gap not recorded", func(btx *bolt.Tx) error {
			return btx.Bucket(bucketMeta).Put(keyLastSeq, u64(9))
		}, "journal ends at seq 5"},
		{"voided seqs are accepted", func(btx *bolt.Tx) error {
			if err := putVoids(btx, 6, 9, time.Now(), "restore-test", "test"); err != nil {
				return err
			}
			return btx.Bucket(bucketMeta).Put(keyLastSeq, u64(9))
		}, ""},
		{"a gap between voids", func(btx *bolt.Tx) error {
			if err := putVoids(btx, 7, 9, time.Now(), "restore-test", "test"); err != nil {
				return err
			}
			return btx.Bucket(bucketMeta).Put(keyLastSeq, u64(9))
		}, "seq gap: expected 6, found 7"},
		{"a void with lines", func(btx *bolt.Tx) error {
			v := voidTx(6, time.Now(), "restore-test", "test")
			v.Lines = []Line{{Item: "A", Qty: MustQty("1"), To: "WH/Stock"}}
			raw, _ := json.Marshal(v)
			if err := btx.Bucket(bucketTx).Put(u64(6), raw); err != nil {
				return err
			}
			return btx.Bucket(bucketMeta).Put(keyLastSeq, u64(6))
		}, "seq 6: a void with an id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat, _ := NewCatalog([]Location{{Name: "WH/Stock", Type: LocInternal}}, nil, nil)
			j, err := Open(filepath.Join(t.TempDir(), "d.db"), Options{Depot: "D", Catalog: cat})
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			for i := 0; i < 5; i++ {
				tx := Transaction{ID: strings.Repeat("x", i+1), Type: Receipt, Lines: []Line{{Item: "A", Qty: MustQty("1"), To: "WH/Stock"}}}
				if _, _, err := j.Commit(context.Background(), tx); err != nil {
					t.Fatal(err)
				}
			}
			if err := j.db.Update(c.damage); err != nil {
				t.Fatal(err)
			}
			probs := strings.Join(j.Check(), "\n")
			if c.want == "" && probs != "" {
				t.Fatalf("unexpected problems: %s", probs)
			}
			if c.want != "" && !strings.Contains(probs, c.want) {
				t.Fatalf("problems %q do not mention %q", probs, c.want)
			}
		})
	}
}
