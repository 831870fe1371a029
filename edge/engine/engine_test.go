package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	testBucket = []byte("b")
	testMeta   = []byte("meta")
	testLSNKey = []byte("wal_lsn")
)

type idGroup struct {
	id      int
	payload []byte
}

func (g *idGroup) Payload() []byte { return g.payload }

// outcomes records what each group was told, from the syncer and the owner.
type outcomes struct {
	mu       sync.Mutex
	answered map[int]int
	failed   map[int]bool // id → logged
	dups     []string
	retries  map[int]bool
	ckptFail atomic.Bool
}

func (o *outcomes) Answer(g *idGroup) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.answered[g.id]++
	if _, f := o.failed[g.id]; f || o.answered[g.id] > 1 {
		o.dups = append(o.dups, fmt.Sprintf("group %d answered again", g.id))
	}
}

func (o *outcomes) Fail(g *idGroup, cause error, logged bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, f := o.failed[g.id]; f || o.answered[g.id] > 0 {
		o.dups = append(o.dups, fmt.Sprintf("group %d failed after an answer", g.id))
	}
	o.failed[g.id] = logged
}

func (o *outcomes) retry(id int) {
	o.mu.Lock()
	o.retries[id] = true
	o.mu.Unlock()
}

func (o *outcomes) Begun(*bolt.Tx) {}

func (o *outcomes) Checkpointing(*bolt.Tx) error {
	if o.ckptFail.Load() {
		return errors.New("injected checkpoint failure")
	}
	return nil
}

func (o *outcomes) Checkpointed() {}
func (o *outcomes) RolledBack()   {}

func key(id int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

// Under failing WAL syncs, full WAL rounds and failing checkpoints, in any order: every
// group is told exactly once; what was answered is on disk at every instant (a power cut
// then, and a replay, keeps it); what failed without its record being written is not.
func TestEveryGroupIsToldOnceAndAnsweredOnlyWhenDurable(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	dir := t.TempDir()
	dbPath, walPath := filepath.Join(dir, "x.db"), filepath.Join(dir, "x.wal")
	db, err := bolt.Open(dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bolt.Tx) error {
		btx.CreateBucket(testBucket)
		_, err := btx.CreateBucket(testMeta)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var syncFail atomic.Bool
	log, err := OpenLog(walPath, 8*BlockSize, 9, 0, Hooks{BeforeSync: func() error {
		if syncFail.Load() {
			return errors.New("injected sync failure")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := &outcomes{answered: map[int]int{}, failed: map[int]bool{}, retries: map[int]bool{}}
	e := New(db, log, Domain[*idGroup](o), Config{Path: dbPath, SetLSN: func(t *bolt.Tx, lsn uint64) error {
		return t.Bucket(testMeta).Put(testLSNKey, binary.BigEndian.AppendUint64(nil, lsn))
	}})
	const n = 600
	cuts := 0
	for id := 0; id < n; id++ {
		syncFail.Store(r.IntN(10) == 0)
		o.ckptFail.Store(r.IntN(4) == 0)
		tx, err := e.Tx()
		if err != nil {
			t.Fatal(err)
		}
		w := NewWriter(tx, 64)
		if r.IntN(20) == 0 {
			o.retry(id) // a retry: nothing to write, answered with what is before it
		} else if err := w.Put(testBucket, key(id), make([]byte, 1+r.IntN(3*BlockSize))); err != nil {
			t.Fatal(err) // some fill the 8-block log at once
		}
		e.Log(&idGroup{id: id, payload: w.Ops()})
		switch r.IntN(8) {
		case 0:
			e.Checkpoint()
		case 1:
			e.OptionalCheckpoint()
		case 2:
			time.Sleep(time.Millisecond) // let the syncer catch up
		}
		e.TakeBack()
		if e.NeedsCheckpoint() {
			e.Checkpoint()
		}
		if r.IntN(50) == 0 {
			cuts++
			powerCutKeepsAnswered(t, o, dbPath, walPath)
		}
	}
	syncFail.Store(false)
	o.ckptFail.Store(false)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	for id := 0; id < n; id++ {
		_, f := o.failed[id]
		if o.answered[id] == 0 && !f {
			t.Errorf("group %d never told", id)
		}
	}
	if len(o.dups) > 0 {
		t.Errorf("told twice: %v", o.dups)
	}
	t.Logf("%d answered, %d failed, %d power cuts", len(o.answered), len(o.failed), cuts)
	o.mu.Unlock()
	powerCutKeepsAnswered(t, o, dbPath, walPath)
	db.Close()
}

// powerCutKeepsAnswered copies the files as a power cut would leave them now, replays
// the log onto the copy of bbolt as an open would, and checks every answered group is
// there and every group failed before its record was written is not.
func powerCutKeepsAnswered(t *testing.T, o *outcomes, dbPath, walPath string) {
	t.Helper()
	// Answers given before the copy starts: the files hold at least those.
	o.mu.Lock()
	answered := map[int]bool{}
	for id, c := range o.answered {
		answered[id] = c > 0 && !o.retries[id]
	}
	failed := map[int]bool{}
	for id, logged := range o.failed {
		failed[id] = logged
	}
	o.mu.Unlock()
	dir := t.TempDir()
	cdb, cwal := filepath.Join(dir, "x.db"), filepath.Join(dir, "x.wal")
	// The WAL first: what it loses to a checkpoint that starts it over meanwhile is in
	// the bbolt copy taken after.
	for _, c := range [][2]string{{walPath, cwal}, {dbPath, cdb}} {
		raw, err := os.ReadFile(c[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c[1], raw, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db, err := bolt.Open(cdb, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	raw, err := os.ReadFile(cwal)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(btx *bolt.Tx) error {
		var lsn uint64
		if v := btx.Bucket(testMeta).Get(testLSNKey); v != nil {
			lsn = binary.BigEndian.Uint64(v)
		}
		return Read(bytesReader(raw), int64(len(raw)), 9, lsn, func(r Record) error {
			_, err := ApplyOps(btx, r.Payload)
			return err
		})
	}); err != nil {
		t.Fatalf("replay after a power cut: %v", err)
	}
	db.View(func(btx *bolt.Tx) error {
		b := btx.Bucket(testBucket)
		for id, ok := range answered {
			if ok && b.Get(key(id)) == nil {
				t.Errorf("group %d was answered but a power cut loses it", id)
			}
		}
		for id, logged := range failed {
			if !logged && b.Get(key(id)) != nil {
				t.Errorf("group %d was failed as not committed but a power cut keeps it", id)
			}
		}
		return nil
	})
}
