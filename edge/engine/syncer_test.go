package engine

import (
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type testGroup struct {
	name    string
	payload []byte
}

func (g *testGroup) Payload() []byte { return g.payload }

// syncRig is a syncer over a real log whose fdatasync can be held or failed.
type syncRig struct {
	t        *testing.T
	s        *Syncer[*testGroup]
	syncs    atomic.Int64  // fdatasyncs that returned
	hold     chan struct{} // while non-nil, each sync waits for a value
	entered  chan struct{} // a sync is waiting
	fail     atomic.Pointer[error]
	mu       sync.Mutex
	answered []string
	durable  []uint64
	done     chan struct{}
}

func newSyncRig(t *testing.T, size int64, hold bool) *syncRig {
	r := &syncRig{t: t, entered: make(chan struct{}, 16), done: make(chan struct{})}
	if hold {
		r.hold = make(chan struct{})
	}
	l, err := OpenLog(filepath.Join(t.TempDir(), "x.wal"), size, 1, 0, Hooks{BeforeSync: func() error {
		if r.hold != nil {
			r.entered <- struct{}{}
			<-r.hold
		}
		if e := r.fail.Load(); e != nil {
			return *e
		}
		r.syncs.Add(1)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	r.s = NewSyncer(l, func(g *testGroup) {
		r.mu.Lock()
		r.answered = append(r.answered, g.name)
		r.mu.Unlock()
	}, func(lsn uint64, size int) {
		r.mu.Lock()
		r.durable = append(r.durable, lsn)
		r.mu.Unlock()
	})
	go func() {
		defer close(r.done)
		r.s.Run()
	}()
	t.Cleanup(func() {
		if r.hold != nil {
			close(r.hold)
			r.hold = nil
		}
		r.s.Stop()
		<-r.done
		l.Close()
	})
	return r
}

func (r *syncRig) answers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.answered...)
}

func (r *syncRig) waitAnswers(n int) []string {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a := r.answers(); len(a) >= n {
			return a
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("answers %v, want %d", r.answers(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *syncRig) waitEntered() {
	r.t.Helper()
	select {
	case <-r.entered:
	case <-time.After(10 * time.Second):
		r.t.Fatal("no sync started")
	}
}

// No group is answered before its record is durable, and a group with nothing to write
// (a retry, a refusal) waits for the records queued before it.
func TestSyncerAnswersOnlyDurableGroupsInOrder(t *testing.T) {
	r := newSyncRig(t, 16*BlockSize, true)
	r.s.Queue(&testGroup{"a", []byte("a")})
	r.waitEntered() // a's record is written, its sync held
	r.s.Queue(&testGroup{"retry-of-a", nil})
	r.s.Queue(&testGroup{"b", []byte("b")})
	// A wrong answer would come at once; 200 ms on a loaded machine is ample.
	time.Sleep(200 * time.Millisecond)
	if a := r.answers(); len(a) != 0 {
		t.Fatalf("answered %v while the first record's sync is held", a)
	}
	r.hold <- struct{}{} // a durable
	r.waitEntered()      // the next record (retry-of-a and b) is written
	if a := r.waitAnswers(1); a[0] != "a" {
		t.Fatalf("answers %v, want a first", a)
	}
	time.Sleep(100 * time.Millisecond)
	if a := r.answers(); len(a) != 1 {
		t.Fatalf("answered %v before the second record is durable", a)
	}
	r.hold <- struct{}{}
	got := r.waitAnswers(3)
	if got[1] != "retry-of-a" || got[2] != "b" {
		t.Fatalf("answers %v, want a, retry-of-a, b", got)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.durable) != 2 || r.durable[0] != 1 || r.durable[1] != 2 {
		t.Fatalf("durable lsns %v, want 1, 2", r.durable)
	}
}

// A failed sync hands its groups back unanswered and halts the syncer: nothing more is
// written (a later record must never follow one that may be torn) until Resume.
func TestSyncerHandsBackAFailedWriteAndHaltsUntilResumed(t *testing.T) {
	r := newSyncRig(t, 16*BlockSize, false)
	boom := errors.New("boom")
	r.fail.Store(&boom)
	r.s.Queue(&testGroup{"a", []byte("a")})
	select {
	case <-r.s.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("failed write not signalled")
	}
	r.fail.Store(nil)
	r.s.Queue(&testGroup{"b", []byte("b")})
	time.Sleep(100 * time.Millisecond)
	if n := r.syncs.Load(); n != 0 || len(r.answers()) != 0 {
		t.Fatalf("%d syncs, answers %v after a failed write: the syncer did not halt", n, r.answers())
	}
	queued, failed := r.s.Quiesce()
	if len(failed) != 1 || !errors.Is(failed[0].Err, boom) || len(failed[0].Groups) != 1 || failed[0].Groups[0].name != "a" {
		t.Fatalf("failed %+v, want a with boom", failed)
	}
	if len(queued) != 1 || queued[0].name != "b" {
		t.Fatalf("queued %v, want b", queued)
	}
	if r.s.Pending() {
		t.Fatal("pending after Quiesce took everything")
	}
	r.s.Resume()
	r.s.Queue(&testGroup{"c", []byte("c")})
	if a := r.waitAnswers(1); a[0] != "c" {
		t.Fatalf("answers %v after resume, want c", a)
	}
}

// A record that does not fit is handed back as ErrFull, and Quiesce waits for a write in
// progress rather than take groups a record already holds.
func TestSyncerHandsBackWhatDoesNotFitAndQuiesceWaitsForTheWrite(t *testing.T) {
	r := newSyncRig(t, 2*BlockSize, true)
	r.s.Queue(&testGroup{"a", []byte("a")})
	r.waitEntered()
	quiesced := make(chan struct{})
	go func() {
		defer close(quiesced)
		queued, failed := r.s.Quiesce()
		if len(queued) != 0 || len(failed) != 0 {
			t.Errorf("quiesce took %v, %v while a's write was in progress", queued, failed)
		}
	}()
	select {
	case <-quiesced:
		t.Fatal("Quiesce returned during a write")
	case <-time.After(100 * time.Millisecond):
	}
	r.hold <- struct{}{}
	<-quiesced
	r.waitAnswers(1)
	r.s.Resume()
	r.s.Queue(&testGroup{"big", make([]byte, 2*BlockSize)})
	select {
	case <-r.s.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("a record larger than the log was not handed back")
	}
	if l := r.s.TakeFailed(); len(l) != 1 || !errors.Is(l[0].Err, ErrFull) {
		t.Fatalf("failed %+v, want ErrFull", l)
	}
}
