package console

import (
	"bytes"
	"sync"
	"time"
)

// memStore is a fiber.Storage in memory for sessions, CSRF tokens and the login limiter.
// fiber's own memory storage runs a collector goroutine per store that nothing owns; this
// one drops expired entries as it goes, and bounds its size so that a client minting
// sessions cannot fill the gateway's memory.
type memStore struct {
	mu  sync.Mutex
	m   map[string]memEntry
	max int
	now func() time.Time
}

type memEntry struct {
	v   []byte
	exp time.Time // zero: no expiry
}

func newMemStore(max int) *memStore {
	return &memStore{m: map[string]memEntry{}, max: max, now: time.Now}
}

func (s *memStore) Get(key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[key]
	if !ok {
		return nil, nil
	}
	if !e.exp.IsZero() && s.now().After(e.exp) {
		delete(s.m, key)
		return nil, nil
	}
	return bytes.Clone(e.v), nil
}

func (s *memStore) Set(key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.m[key]; !ok && len(s.m) >= s.max {
		s.sweep(now)
		if len(s.m) >= s.max {
			// Drop the entry closest to expiry: the oldest idle session. Entries that never
			// expire go only when nothing else can.
			var victim string
			var soonest time.Time
			for k, e := range s.m {
				switch {
				case victim == "":
					victim, soonest = k, e.exp
				case e.exp.IsZero():
				case soonest.IsZero() || e.exp.Before(soonest):
					victim, soonest = k, e.exp
				}
			}
			delete(s.m, victim)
		}
	}
	e := memEntry{v: bytes.Clone(val)}
	if exp > 0 {
		e.exp = now.Add(exp)
	}
	s.m[key] = e
	return nil
}

func (s *memStore) sweep(now time.Time) {
	for k, e := range s.m {
		if !e.exp.IsZero() && now.After(e.exp) {
			delete(s.m, k)
		}
	}
}

func (s *memStore) Delete(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func (s *memStore) Reset() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]memEntry{}
	return nil
}

func (s *memStore) Close() error { return nil }
