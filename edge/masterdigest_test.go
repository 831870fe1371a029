package edge_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/depotd/depotd/edge"
)

// TestMasterDigestFollowsPutMaster: MasterDigest is cached, and every PutMaster is seen by
// the next call, also while other goroutines keep asking (the cache is filled
// concurrently with the writes).
func TestMasterDigestFollowsPutMaster(t *testing.T) {
	j := mustOpen(t, nil)
	if d, err := j.MasterDigest(edge.MasterKindItems); err != nil || d != 0 {
		t.Fatalf("none stored: %x, %v", d, err)
	}
	payload := func(n int) []byte {
		return []byte(fmt.Sprintf(`{"v":1,"version":"v%d","items":[{"sku":"SKU-%d"}]}`, n, n))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					j.MasterDigest(edge.MasterKindItems)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	seen := map[uint64]int{}
	for n := 0; n < 50; n++ {
		if _, err := j.PutMaster(edge.MasterKindItems, payload(n%10+10)); err != nil {
			t.Fatal(err)
		}
		d, err := j.MasterDigest(edge.MasterKindItems)
		if err != nil || d == 0 {
			t.Fatalf("after put %d: %x, %v", n, d, err)
		}
		if prev, ok := seen[d]; ok && prev != n%10 {
			t.Fatalf("payload %d has the digest of payload %d", n%10, prev)
		}
		seen[d] = n % 10
		if len(seen) != min(n+1, 10) {
			t.Fatalf("after put %d: %d digests seen, want %d (a stale digest?)", n, len(seen), min(n+1, 10))
		}
	}
}
