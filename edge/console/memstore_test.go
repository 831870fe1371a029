package console

import (
	"fmt"
	"testing"
	"time"
)

func TestMemStore(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newMemStore(3)
	s.now = func() time.Time { return now }
	s.Set("a", []byte("1"), time.Minute)
	s.Set("b", []byte("2"), 2*time.Minute)
	s.Set("c", []byte("3"), 0)
	v, _ := s.Get("a")
	if string(v) != "1" {
		t.Fatalf("a = %q", v)
	}
	v[0] = 'x' // callers get a copy
	if v, _ := s.Get("a"); string(v) != "1" {
		t.Fatal("stored value changed through a returned slice")
	}
	// Full: the entry closest to expiry goes.
	s.Set("d", []byte("4"), time.Hour)
	if v, _ := s.Get("a"); v != nil {
		t.Fatal("a survived eviction")
	}
	for _, k := range []string{"b", "c", "d"} {
		if v, _ := s.Get(k); v == nil {
			t.Fatalf("%s evicted", k)
		}
	}
	now = now.Add(3 * time.Minute)
	if v, _ := s.Get("b"); v != nil {
		t.Fatal("b did not expire")
	}
	if v, _ := s.Get("c"); v == nil {
		t.Fatal("c (no expiry) expired")
	}
	for i := 0; i < 10; i++ {
		s.Set(fmt.Sprint(i), []byte("v"), time.Minute)
	}
	if len(s.m) > 3 {
		t.Fatalf("store grew to %d entries", len(s.m))
	}
}
