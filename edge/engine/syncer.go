package engine

import "sync"

// Group is what the syncer writes: the payload of one group commit, whose callers wait
// for it to be durable.
type Group interface {
	Payload() []byte
}

// Landing is a write that failed or did not fit (Err is ErrFull), with the groups it held
// in order. They are not durable, and the syncer writes nothing more until Resume.
type Landing[G Group] struct {
	Groups []G
	Err    error
}

// Syncer writes queued groups to a Log, one record for everything queued when it is
// free, and answers them once their record is durable. It is the only writer of its Log;
// one other goroutine, the owner, queues, quiesces and resumes it.
//
// Invariants:
//   - A group is answered exactly once, by answer, and only after its record and every
//     earlier record are durable (fdatasync returned). Groups with an empty payload (a
//     retry of an id, a refusal) are answered in queue order, after everything queued
//     before them is durable.
//   - A record is written only after the previous one is durable, so a torn or unsynced
//     record is always the log's last.
//   - A write that fails or does not fit goes back to the owner (Failed, Quiesce) and
//     halts the syncer: its groups are the owner's to make durable or fail.
//   - The syncer never waits for the owner, and the owner never waits for it while
//     holding anything the syncer takes: answer is called without the syncer's lock.
type Syncer[G Group] struct {
	log     *Log
	answer  func(G)
	durable func(lsn uint64, size int)
	kick    chan struct{}

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []G          // waiting for the next write
	busy   bool         // a write is in progress
	failed []Landing[G] // for the owner
	halted bool         // no write may start: the owner is checkpointing, or one failed
	stop   bool
}

// NewSyncer returns a syncer for log. answer tells a durable group's callers; durable is
// told each record made durable, with its lsn and payload size, before its groups are
// answered.
func NewSyncer[G Group](log *Log, answer func(G), durable func(lsn uint64, size int)) *Syncer[G] {
	s := &Syncer[G]{log: log, answer: answer, durable: durable, kick: make(chan struct{}, 1)}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Failed is signalled when a write failed or did not fit; TakeFailed gives it.
func (s *Syncer[G]) Failed() <-chan struct{} { return s.kick }

// Queue hands g to the syncer.
func (s *Syncer[G]) Queue(g G) {
	s.mu.Lock()
	s.queue = append(s.queue, g)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Pending says whether some queued group is not durable yet, or a failed write waits
// for the owner.
func (s *Syncer[G]) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue) > 0 || s.busy || len(s.failed) > 0
}

// TakeFailed returns the writes that failed or did not fit since the last call.
func (s *Syncer[G]) TakeFailed() []Landing[G] {
	s.mu.Lock()
	defer s.mu.Unlock()
	failed := s.failed
	s.failed = nil
	return failed
}

// Quiesce waits until the syncer has written what is queued (unless it is halted) and
// holds it; it returns the groups still queued and the failed writes, none of them
// durable. A checkpoint that fails rolls back to the previous one and only what the log
// holds comes back by replay: writing the queue first keeps it from failing with it.
func (s *Syncer[G]) Quiesce() (queued []G, failed []Landing[G]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.busy || (len(s.queue) > 0 && !s.halted) {
		s.cond.Wait()
	}
	s.halted = true
	queued, failed = s.queue, s.failed
	s.queue, s.failed = nil, nil
	return queued, failed
}

// Resume lets a quiesced or halted syncer write again.
func (s *Syncer[G]) Resume() {
	s.mu.Lock()
	s.halted = false
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Stop makes Run return once the write in progress is done; groups still queued are
// left unanswered for the owner (Quiesce first).
func (s *Syncer[G]) Stop() {
	s.mu.Lock()
	s.stop = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// Run writes until Stop. It answers a record's groups after it has written the next
// record and before syncing that one, so that answering costs the next group nothing.
func (s *Syncer[G]) Run() {
	var buf []byte
	var parts [][]byte
	var durable []G // not answered yet
	answer := func() {
		for _, g := range durable {
			s.answer(g)
		}
		durable = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if len(durable) > 0 && (s.stop || s.halted || len(s.queue) == 0) {
			s.mu.Unlock()
			answer()
			s.mu.Lock()
			continue
		}
		for !s.stop && (s.halted || len(s.queue) == 0) {
			s.cond.Wait()
		}
		if s.stop {
			return
		}
		groups := s.queue
		s.queue = nil
		size := 0
		for _, g := range groups {
			size += len(g.Payload())
		}
		if size == 0 {
			// Only answers that depend on earlier records: durable now, nothing to write.
			s.mu.Unlock()
			answer()
			for _, g := range groups {
				s.answer(g)
			}
			s.mu.Lock()
			s.cond.Broadcast()
			continue
		}
		off, lsn, err := s.log.Reserve(size)
		if err == nil {
			s.busy = true
			s.mu.Unlock()
			parts = parts[:0]
			for _, g := range groups {
				parts = append(parts, g.Payload())
			}
			buf, err = s.log.Write(buf, off, lsn, size, parts)
			answer()
			if err == nil {
				err = s.log.Sync()
			}
			if err == nil {
				s.durable(lsn, size)
				durable = groups
			}
			s.mu.Lock()
			s.busy = false
		}
		if err != nil {
			s.failed = append(s.failed, Landing[G]{Groups: groups, Err: err})
			s.halted = true
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
		s.cond.Broadcast()
	}
}
